package dev.distillbridge.client;

import dev.distillbridge.client.internal.ArtifactSource;
import dev.distillbridge.client.internal.JobRunner;
import dev.distillbridge.proto.v1.FinishedEvent;
import dev.distillbridge.proto.v1.JobEvent;
import io.grpc.Deadline;
import io.grpc.Status;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What a job's wire events mean to a caller, the same for every {@link JobRunner}: each event
 * handed to the listeners as a {@link DistillEvent}, and the final one turned into a
 * {@link DistillationResult} or a {@link DistillException}.
 */
final class JobEvents {
    private static final Logger LOG = Logger.getLogger(JobEvents.class.getName());

    private JobEvents() {
    }

    /** Follows a submitted job to its end: the result of a job that succeeded, else its failure. */
    static DistillationResult follow(JobRunner runner, String jobId, Deadline deadline,
            List<Consumer<DistillEvent>> listeners) {
        List<Consumer<DistillEvent>> copy = List.copyOf(listeners);
        AtomicReference<MlflowRun> run = new AtomicReference<>();
        FinishedEvent finished = runner.watch(jobId, deadline, event -> {
            if (event.hasMlflowRun()) { // the latest: registered, once the artifact is
                run.set(MlflowRun.fromProto(event.getMlflowRun()));
            }
            deliver(event, copy);
        });
        DistillationResult result = outcome(jobId, finished, runner.artifacts(jobId));
        return run.get() == null ? result : result.withMlflowRun(run.get());
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
