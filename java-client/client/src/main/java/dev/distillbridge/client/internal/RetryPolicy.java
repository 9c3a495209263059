package dev.distillbridge.client.internal;

import dev.distillbridge.client.DistillException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;

/**
 * How often a broken stream (WatchJob, DownloadArtifact) is resumed: up to
 * {@code maxRetries} times in a row without progress, after an exponential backoff.
 */
public record RetryPolicy(int maxRetries, Duration initialBackoff, Duration maxBackoff) {
    public static final RetryPolicy DEFAULT = new RetryPolicy(5, Duration.ofMillis(100), Duration.ofSeconds(5));

    /** Only UNAVAILABLE (connection lost, server restarting) is worth resuming. */
    public boolean isRetryable(StatusRuntimeException e) {
        return e.getStatus().getCode() == Status.Code.UNAVAILABLE;
    }

    /** Sleeps before retry number {@code attempt} (1-based). */
    public void backoff(int attempt, String jobId) {
        long millis = Math.min(maxBackoff.toMillis(), initialBackoff.toMillis() << Math.min(attempt - 1, 20));
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistillException(Status.CANCELLED.withDescription("interrupted while waiting to retry"), jobId, e);
        }
    }
}
