package dev.distillbridge.spring;

import dev.distillbridge.client.DistillBridge;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Hot swap by distillation: a {@link ModelUpdater} when there is both a served model and a
 * client, and the actuator endpoint {@code distillbridge} that drives it (off by default).
 */
@AutoConfiguration(after = {DistillBridgeModelAutoConfiguration.class, DistillBridgeClientAutoConfiguration.class})
@ConditionalOnClass(DistillBridge.class)
@ConditionalOnBean({LiveModel.class, DistillBridge.class})
public class DistillBridgeAdminAutoConfiguration {

    /** Distills new models with the client and installs them in the live model. */
    @Bean
    @ConditionalOnMissingBean
    public ModelUpdater distillBridgeModelUpdater(DistillBridge bridge, LiveModel model,
            DistillBridgeProperties properties) {
        return new ModelUpdater(bridge, model, properties);
    }

    /** The endpoint, when the actuator is there and the endpoint is turned on and exposed. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.actuate.endpoint.annotation.Endpoint")
    static class EndpointConfiguration {
        @Bean
        @ConditionalOnMissingBean
        @ConditionalOnAvailableEndpoint(endpoint = DistillBridgeEndpoint.class)
        DistillBridgeEndpoint distillBridgeEndpoint(ModelUpdater updater, LiveModel model) {
            return new DistillBridgeEndpoint(updater, model);
        }
    }
}
