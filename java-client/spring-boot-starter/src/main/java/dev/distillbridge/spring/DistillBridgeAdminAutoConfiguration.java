package dev.distillbridge.spring;

import dev.distillbridge.client.DistillBridge;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.autoconfigure.web.server.ManagementPortType;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * Hot swap by distillation: a {@link ModelUpdater} when there is both a served model and a
 * client, and the actuator endpoint {@code distillbridge} that drives it: off by default, and
 * when turned on only on a management port of its own (see {@link DistillBridgeEndpoint}).
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
        /**
         * @throws IllegalStateException when the actuator shares the application's port and
         *     {@code distillbridge.admin.allow-application-port} is not set
         */
        @Bean
        @ConditionalOnMissingBean
        @ConditionalOnAvailableEndpoint(endpoint = DistillBridgeEndpoint.class)
        DistillBridgeEndpoint distillBridgeEndpoint(ModelUpdater updater, LiveModel model, Environment environment,
                DistillBridgeProperties properties) {
            if (ManagementPortType.get(environment) == ManagementPortType.SAME
                    && !properties.getAdmin().isAllowApplicationPort()) {
                throw new IllegalStateException("The distillbridge actuator endpoint is turned on, but the actuator"
                        + " shares the application's port. The endpoint starts distillations and swaps the served"
                        + " model: set management.server.port to a port only operators reach (and protect it, e.g."
                        + " with Spring Security), or, if the application port is protected,"
                        + " distillbridge.admin.allow-application-port=true");
            }
            return new DistillBridgeEndpoint(updater, model);
        }
    }
}
