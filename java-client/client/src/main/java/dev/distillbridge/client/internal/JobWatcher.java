package dev.distillbridge.client.internal;

import dev.distillbridge.client.DistillException;
import dev.distillbridge.proto.v1.FinishedEvent;
import dev.distillbridge.proto.v1.JobEvent;
import dev.distillbridge.proto.v1.WatchJobRequest;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Iterator;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Follows a job with {@code WatchJob} until its FinishedEvent, delivering each event once, in
 * sequence order. When the stream breaks with UNAVAILABLE (or ends early) it watches again
 * from the last sequence seen + 1.
 */
final class JobWatcher {
    private static final Logger LOG = Logger.getLogger(JobWatcher.class.getName());

    private final Rpc rpc;
    private final String jobId;
    private final Deadline deadline;
    private final Consumer<JobEvent> onEvent;
    private long nextSequence;

    /**
     * @param deadline bounds the whole watch, or null for none
     * @param onEvent receives every event once, FINISHED included
     */
    JobWatcher(Rpc rpc, String jobId, Deadline deadline, Consumer<JobEvent> onEvent) {
        this.rpc = rpc;
        this.jobId = jobId;
        this.deadline = deadline;
        this.onEvent = onEvent;
    }

    /** Blocks until the job ends; returns its FinishedEvent. */
    FinishedEvent await() {
        int failures = 0;
        while (true) {
            long before = nextSequence;
            StatusRuntimeException failure;
            try {
                FinishedEvent finished = Rpc.inCancellableContext(this::watchOnce);
                if (finished != null) {
                    return finished;
                }
                failure = Status.UNAVAILABLE.withDescription("WatchJob ended before the job's FinishedEvent")
                        .asRuntimeException();
            } catch (StatusRuntimeException e) {
                failure = e;
            }
            if (nextSequence > before) {
                failures = 0;
            }
            if (!rpc.retry().isRetryable(failure) || ++failures > rpc.retry().maxRetries()) {
                throw DistillException.fromRpc(failure, jobId);
            }
            LOG.log(Level.FINE, "watch of {0} broke after sequence {1} ({2}); watching again",
                    new Object[] {jobId, nextSequence - 1, failure.getStatus()});
            rpc.retry().backoff(failures, jobId);
        }
    }

    /** One WatchJob stream: returns the FinishedEvent, or null when the stream ended without one. */
    private FinishedEvent watchOnce() {
        WatchJobRequest request = WatchJobRequest.newBuilder().setJobId(jobId).setFromSequence(nextSequence).build();
        Iterator<JobEvent> events = rpc.streaming(deadline).watchJob(request);
        while (events.hasNext()) {
            JobEvent event = events.next();
            if (event.getSequence() < nextSequence) {
                continue; // a replay of something already delivered
            }
            nextSequence = event.getSequence() + 1;
            onEvent.accept(event);
            if (event.hasFinished()) {
                return event.getFinished();
            }
        }
        return null;
    }
}
