package dev.distillbridge.client;

import dev.distillbridge.proto.v1.DistillSpec;
import io.grpc.Deadline;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Runs one validated spec to its end for a {@link Distiller}: over gRPC against a server, or
 * over Py4J against a local debug server. Both report the same events and results.
 */
interface JobRunner {
    /**
     * Submits, then follows the job until it ends, delivering every event to the listeners.
     *
     * @param files local teacher / dataset files the spec refers to (sent with the job)
     * @param deadline bounds the whole run, or null
     * @param jobIdSink receives the job id as soon as it is known
     */
    DistillationResult run(DistillSpec spec, LocalFiles files, Deadline deadline,
            List<Consumer<DistillEvent>> listeners, AtomicReference<String> jobIdSink);

    /** Local files a spec refers to: null where the spec names a server-side reference. */
    record LocalFiles(Path teacher, Path dataset) {
        static final LocalFiles NONE = new LocalFiles(null, null);
    }

    /** Best-effort cancellation of a job this runner started. */
    void cancel(String jobId);
}
