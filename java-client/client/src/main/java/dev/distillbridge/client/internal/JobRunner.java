package dev.distillbridge.client.internal;

import dev.distillbridge.proto.v1.DistillSpec;
import dev.distillbridge.proto.v1.FinishedEvent;
import dev.distillbridge.proto.v1.JobEvent;
import io.grpc.Deadline;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Runs one validated spec to its end for a {@code Distiller}: over gRPC against a server
 * ({@link GrpcJobRunner}), or over Py4J against a local debug server. A transport: it speaks
 * the wire's messages, and the client package turns them into its public types, the same way
 * for every runner.
 */
public interface JobRunner {
    /**
     * Sends local files the spec refers to, then submits the job.
     *
     * @param files local teacher / dataset files (uploaded, or passed by path to a local server)
     * @param deadline bounds the call, or null
     * @return the job id
     */
    String submit(DistillSpec spec, LocalFiles files, Deadline deadline);

    /**
     * Sends local files the spec refers to exactly as {@link #submit} does, then runs every
     * check a submission runs and starts nothing.
     *
     * @param files local teacher / dataset files (uploaded, or passed by path to a local server)
     * @param deadline bounds the call, or null
     * @return the normalized spec (every default filled in): what the pipeline would receive
     */
    DistillSpec validate(DistillSpec spec, LocalFiles files, Deadline deadline);

    /**
     * Follows a submitted job until it ends, handing every event (the final one included) to
     * {@code onEvent} once, in sequence order.
     *
     * @param deadline bounds the whole watch, or null
     * @return the job's FinishedEvent
     */
    FinishedEvent watch(String jobId, Deadline deadline, Consumer<JobEvent> onEvent);

    /** Where the artifact of a job this runner ran comes from. */
    ArtifactSource artifacts(String jobId);

    /** Best-effort cancellation of a job this runner started. */
    void cancel(String jobId);

    /** Local files a spec refers to: null where the spec names a server-side reference. */
    record LocalFiles(Path teacher, Path dataset) {
        /** No local files. */
        public static final LocalFiles NONE = new LocalFiles(null, null);
    }
}
