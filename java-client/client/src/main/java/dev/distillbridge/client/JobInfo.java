package dev.distillbridge.client;

import com.google.protobuf.Timestamp;
import dev.distillbridge.client.internal.ArtifactSource;
import dev.distillbridge.proto.v1.Job;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Function;

/**
 * A snapshot of a job on the server.
 *
 * @param jobId the server's id
 * @param name the label given with {@link Distiller#setName(String)}
 * @param teacher the teacher reference the job was submitted with
 * @param state lifecycle state
 * @param stage current pipeline stage while running (e.g. "train", "export"), else empty
 * @param error why the job failed, when it did, else empty
 * @param createdAt when the job was submitted
 * @param startedAt when it started running
 * @param finishedAt when it ended
 * @param result the artifact, once the job succeeded
 * @param mlflowRun the job's MLflow run, on a server with {@code --mlflow-tracking-uri}
 */
public record JobInfo(
        String jobId,
        String name,
        String teacher,
        JobState state,
        String stage,
        String error,
        Optional<Instant> createdAt,
        Optional<Instant> startedAt,
        Optional<Instant> finishedAt,
        Optional<DistillationResult> result,
        Optional<MlflowRun> mlflowRun) {

    static JobInfo fromProto(Job job, Function<String, ArtifactSource> artifacts) {
        return new JobInfo(
                job.getJobId(),
                job.getSpec().getName(),
                job.getSpec().getTeacher().getReference(),
                JobState.fromProto(job.getState()),
                job.getStage(),
                job.getError(),
                instant(job.hasCreatedAt(), job.getCreatedAt()),
                instant(job.hasStartedAt(), job.getStartedAt()),
                instant(job.hasFinishedAt(), job.getFinishedAt()),
                job.hasResult()
                        ? Optional.of(DistillationResult.fromProto(job.getJobId(), job.getResult(),
                                artifacts.apply(job.getJobId())))
                        : Optional.empty(),
                job.hasMlflowRun() ? Optional.of(MlflowRun.fromProto(job.getMlflowRun())) : Optional.empty());
    }

    private static Optional<Instant> instant(boolean present, Timestamp t) {
        return present ? Optional.of(instant(t)) : Optional.empty();
    }

    /** A wire timestamp as an {@link Instant} (an unset one is the epoch). */
    static Instant instant(Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }
}
