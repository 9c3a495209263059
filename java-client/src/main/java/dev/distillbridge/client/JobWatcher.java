package dev.distillbridge.client;

import dev.distillbridge.proto.v1.FinishedEvent;
import dev.distillbridge.proto.v1.JobEvent;
import dev.distillbridge.proto.v1.WatchJobRequest;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Iterator;
import java.util.List;
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
    private final List<Consumer<DistillEvent>> listeners;
    private long nextSequence;

    /**
     * @param deadline bounds the whole watch, or null for none
     * @param listeners each receives every event, FINISHED included
     */
    JobWatcher(Rpc rpc, String jobId, Deadline deadline, List<Consumer<DistillEvent>> listeners) {
        this.rpc = rpc;
        this.jobId = jobId;
        this.deadline = deadline;
        this.listeners = List.copyOf(listeners);
    }

    /** Blocks until the job ends; returns its result or throws its failure. */
    DistillationResult await() {
        int failures = 0;
        while (true) {
            long before = nextSequence;
            StatusRuntimeException failure;
            try {
                FinishedEvent finished = Rpc.inCancellableContext(this::watchOnce);
                if (finished != null) {
                    return outcome(jobId, finished, (files, manifestJson, dir) ->
                            new ArtifactDownloader(rpc, jobId).download(files, manifestJson, dir));
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
            deliver(event, listeners);
            if (event.hasFinished()) {
                return event.getFinished();
            }
        }
        return null;
    }

    /** Hands one event to every listener; a listener that throws is logged and skipped. */
    static void deliver(JobEvent event, List<Consumer<DistillEvent>> listeners) {
        DistillEvent converted = DistillEvent.fromProto(event);
        if (converted == null) {
            LOG.log(Level.FINE, "skipping event {0} of an unknown kind", event.getSequence());
            return;
        }
        for (Consumer<DistillEvent> listener : listeners) {
            try {
                listener.accept(converted);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "event listener failed on " + converted.kind() + " event " + converted.sequence(), e);
            }
        }
    }

    /** The result of a job that succeeded, or the DistillException of one that did not. */
    static DistillationResult outcome(String jobId, FinishedEvent finished, ArtifactSource source) {
        switch (finished.getState()) {
            case JOB_STATE_SUCCEEDED:
                if (!finished.hasResult()) {
                    throw failure(jobId, Status.INTERNAL, "job succeeded but its FinishedEvent carries no result");
                }
                return DistillationResult.fromProto(jobId, finished.getResult(), source);
            case JOB_STATE_FAILED:
                throw failure(jobId, Status.ABORTED, orDefault(finished.getError(), "job failed"));
            case JOB_STATE_CANCELLED:
                throw failure(jobId, Status.CANCELLED, orDefault(finished.getError(), "job was cancelled"));
            default:
                throw failure(jobId, Status.INTERNAL, "job finished in unexpected state " + finished.getState());
        }
    }

    private static DistillException failure(String jobId, Status status, String description) {
        return new DistillException(status.withDescription(description), jobId, null);
    }

    private static String orDefault(String text, String fallback) {
        return text.isEmpty() ? fallback : text;
    }
}
