package dev.distillbridge.spring;

import dev.distillbridge.client.DistillBridge;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * A {@link DistillBridge} connected to {@code distillbridge.server.target}, when that is set and
 * {@code distill-bridge-client} is on the classpath. Closed with the context.
 */
@AutoConfiguration
@ConditionalOnClass(DistillBridge.class)
@EnableConfigurationProperties(DistillBridgeProperties.class)
public class DistillBridgeClientAutoConfiguration {

    /** The connection to the Distill Bridge server (bearer token when one is configured). */
    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnProperty(prefix = "distillbridge.server", name = "target")
    public DistillBridge distillBridge(DistillBridgeProperties properties) {
        DistillBridgeProperties.Server server = properties.getServer();
        DistillBridge.Builder builder = DistillBridge.builder(server.getTarget()).callTimeout(server.getCallTimeout());
        if (server.getToken() != null && !server.getToken().isBlank()) {
            builder.bearerToken(server.getToken());
        }
        return builder.build();
    }
}
