package dev.distillbridge.examples.spring;

import dev.distillbridge.client.DistilledModel;
import dev.distillbridge.client.SelfCheckReport;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * {@code /actuator/health} component {@code distilledModel}: UP when
 * {@link DistilledModel#selfCheck()} passes on the live model (files re-hashed, golden vectors
 * replayed), DOWN with the problems otherwise. A report is reused for
 * {@code distillbridge.model.self-check-cache-ttl} unless the model was swapped.
 */
@Component("distilledModel")
public class SelfCheckHealthIndicator implements HealthIndicator {
    private final LiveModel model;
    private final Duration cacheTtl;
    private final AtomicReference<Cached> last = new AtomicReference<>();

    /** Checks {@code model}, reusing a report for the configured time. */
    public SelfCheckHealthIndicator(LiveModel model, DistillBridgeProperties properties) {
        this.model = model;
        this.cacheTtl = properties.model().selfCheckCacheTtl();
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
