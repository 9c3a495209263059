package dev.distillbridge.client;

import dev.distillbridge.proto.v1.DistillSpec;
import io.grpc.Deadline;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * Runs one validated spec to its end for a {@link Distiller}: over gRPC against a server, or
 * over Py4J against a local debug server. Both report the same events and results.
 */
interface JobRunner {
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
     * Follows a submitted job until it ends, delivering every event to the listeners.
     *
     * @param deadline bounds the whole watch, or null
     */
    DistillationResult watch(String jobId, Deadline deadline, List<Consumer<DistillEvent>> listeners);

    /** Local files a spec refers to: null where the spec names a server-side reference. */
    record LocalFiles(Path teacher, Path dataset) {
        static final LocalFiles NONE = new LocalFiles(null, null);
    }

    /** Best-effort cancellation of a job this runner started. */
    void cancel(String jobId);
}
