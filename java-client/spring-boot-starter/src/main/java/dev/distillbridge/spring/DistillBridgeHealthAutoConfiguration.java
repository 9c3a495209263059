package dev.distillbridge.spring;

import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * The {@code distilledModel} health component, backed by {@code selfCheck()}; off with
 * {@code management.health.distilledmodel.enabled=false}.
 */
@AutoConfiguration(after = DistillBridgeModelAutoConfiguration.class)
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnBean(LiveModel.class)
@ConditionalOnEnabledHealthIndicator("distilledmodel")
public class DistillBridgeHealthAutoConfiguration {

    /** UP while the live model matches its artifact. */
    @Bean
    @ConditionalOnMissingBean(name = "distilledModelHealthIndicator")
    public DistilledModelHealthIndicator distilledModelHealthIndicator(LiveModel model,
            DistillBridgeProperties properties) {
        return new DistilledModelHealthIndicator(model, properties.getModel().getSelfCheckCacheTtl());
    }
}
