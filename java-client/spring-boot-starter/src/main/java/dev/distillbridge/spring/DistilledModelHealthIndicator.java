package dev.distillbridge.spring;

import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.SelfCheckReport;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/**
 * Health component {@code distilledModel}: UP when {@link DistilledModel#selfCheck()} passes on
 * the live model (files re-hashed, golden vectors replayed through the session), DOWN with the
 * problem otherwise. A report is reused for {@code distillbridge.model.self-check-cache-ttl}
 * unless the model was swapped. Add it to the readiness group so traffic only reaches a model
 * that still matches its artifact:
 * {@code management.endpoint.health.group.readiness.include=readinessState,distilledModel}.
 *
 * <p>The details (model file, SHA-256 of each file, Java and ONNX Runtime versions, the problem
 * when DOWN) describe the deployment, so show them only to authorized callers:
 * {@code management.endpoint.health.show-details=when-authorized} (Spring Boot's default is
 * {@code never}); the status alone is what probes need.
 */
public class DistilledModelHealthIndicator implements HealthIndicator {
    private final LiveModel model;
    private final Duration cacheTtl;
    private final AtomicReference<Cached> last = new AtomicReference<>();

    /** Checks {@code model}, reusing a report for {@code cacheTtl}. */
    public DistilledModelHealthIndicator(LiveModel model, Duration cacheTtl) {
        this.model = Objects.requireNonNull(model, "model");
        this.cacheTtl = Objects.requireNonNull(cacheTtl, "cacheTtl");
    }

    @Override
    public Health health() {
        SelfCheckReport report = model.apply(this::report);
        Health.Builder health = report.healthy() ? Health.up() : Health.down();
        return health.withDetails(report.details()).build();
    }

    private SelfCheckReport report(DistilledModel current) {
        Cached cached = last.get();
        Instant now = Instant.now();
        if (cached != null && cached.model == current && cached.report.checkedAt().plus(cacheTtl).isAfter(now)) {
            return cached.report;
        }
        SelfCheckReport report = current.selfCheck();
        last.set(new Cached(current, report));
        return report;
    }

    private record Cached(DistilledModel model, SelfCheckReport report) {
    }
}
