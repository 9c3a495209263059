package dev.distillbridge.examples.spring;

import dev.distillbridge.client.DistillBridge;
import dev.distillbridge.client.DistilledModel;
import java.nio.file.Path;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The beans: the live model (verified at start-up) and, for the admin endpoint, the client. */
@Configuration(proxyBeanMethods = false)
public class ModelConfiguration {

    /**
     * Loads {@code distillbridge.model.path}: checks every file's SHA-256 and replays the golden
     * vectors, so a corrupt or tampered artifact stops the service from starting.
     */
    @Bean
    public LiveModel liveModel(DistillBridgeProperties properties) {
        Path path = properties.model().path();
        if (path == null || path.toString().isEmpty()) {
            throw new IllegalStateException("distillbridge.model.path is not set: point it at a distilled artifact");
        }
        DistillBridgeProperties.Model model = properties.model();
        return new LiveModel(model.precision() == null ? DistilledModel.load(path)
                : DistilledModel.load(path, model.precision()));
    }

    /** The connection to the Distill Bridge server that distills new models. */
    @Bean
    @ConditionalOnProperty(name = "distillbridge.admin.enabled", havingValue = "true")
    public DistillBridge distillBridge(DistillBridgeProperties properties) {
        DistillBridgeProperties.Server server = properties.server();
        DistillBridge.Builder builder = DistillBridge.builder(server.target()).callTimeout(server.callTimeout());
        if (server.token() != null && !server.token().isBlank()) {
            builder.bearerToken(server.token());
        }
        return builder.build();
    }
}
