package dev.distillbridge.spring;

import dev.distillbridge.inference.DistilledModel;
import io.micrometer.observation.ObservationRegistry;
import java.nio.file.Path;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * The served model: a {@link LiveModel} holding {@code distillbridge.model.path}, verified at
 * start-up (a corrupt or tampered artifact stops the application from starting), its
 * predictions observed in the application's {@link ObservationRegistry} when there is one.
 */
@AutoConfiguration(afterName = "org.springframework.boot.actuate.autoconfigure.observation.ObservationAutoConfiguration")
@ConditionalOnClass(DistilledModel.class)
@EnableConfigurationProperties(DistillBridgeProperties.class)
public class DistillBridgeModelAutoConfiguration {

    /** Loads and verifies the artifact: every file's SHA-256, the golden vectors replayed. */
    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnProperty(prefix = "distillbridge.model", name = "path")
    public LiveModel distillBridgeLiveModel(DistillBridgeProperties properties,
            ObjectProvider<ObservationRegistry> observations) {
        DistillBridgeProperties.Model model = properties.getModel();
        Path path = model.getPath();
        if (path == null || path.toString().isEmpty()) {
            throw new IllegalStateException("distillbridge.model.path is empty: point it at a distilled artifact");
        }
        DistilledModel loaded = model.getPrecision() == null ? DistilledModel.load(path)
                : DistilledModel.load(path, model.getPrecision());
        return new LiveModel(loaded, observations.getIfAvailable(() -> ObservationRegistry.NOOP));
    }
}
