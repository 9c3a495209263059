package dev.distillbridge.examples.spring;

import dev.distillbridge.client.Precision;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code distillbridge.*} settings:
 *
 * <pre>
 * distillbridge:
 *   model.path: /models/german-credit        # the artifact directory, verified at start-up
 *   server.target: distill-bridge:50051      # only for the admin endpoint
 *   admin.enabled: true
 *   admin.work-dir: /var/lib/distilled       # where new artifacts are downloaded
 * </pre>
 *
 * @param model the artifact served at start-up
 * @param server the Distill Bridge server that distills new models
 * @param admin the hot-swap endpoint
 */
@ConfigurationProperties("distillbridge")
public record DistillBridgeProperties(@DefaultValue Model model, @DefaultValue Server server,
        @DefaultValue Admin admin) {

    /**
     * @param path the artifact directory (manifest.json, model files); required
     * @param precision the model to open; unset = INT8 when the artifact has one, else FP32
     * @param selfCheckCacheTtl how long the health indicator reuses a self-check (each one
     *     re-hashes the model files); 0 = check on every health request
     */
    public record Model(Path path, Precision precision, @DefaultValue("30s") Duration selfCheckCacheTtl) {
    }

    /**
     * @param target host:port of the Distill Bridge server
     * @param token bearer token, when the server was started with --auth-token-file
     * @param callTimeout timeout of each unary call
     */
    public record Server(@DefaultValue("localhost:50051") String target, String token,
            @DefaultValue("60s") Duration callTimeout) {
    }

    /**
     * @param enabled exposes {@code /admin/**}; keep it behind your own authentication
     * @param workDir where each new artifact is downloaded ({@code <workDir>/<jobId>})
     * @param jobTimeout bounds one distillation, submit to result
     */
    public record Admin(boolean enabled, Path workDir, @DefaultValue("30m") Duration jobTimeout) {
    }
}
