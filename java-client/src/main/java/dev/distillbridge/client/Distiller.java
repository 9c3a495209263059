package dev.distillbridge.client;

import dev.distillbridge.proto.v1.DistillSpec;
import dev.distillbridge.proto.v1.Job;
import dev.distillbridge.proto.v1.SubmitJobRequest;
import dev.distillbridge.proto.v1.TeacherRef;
import dev.distillbridge.proto.v1.UploadKind;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Describes one distillation and runs it: obtained from {@link DistillBridge#newDistiller()},
 * configured with fluent setters, run with {@link #distill(Dataset, TrainingParams)}.
 *
 * <pre>{@code
 * DistillationResult result = bridge.newDistiller()
 *     .setTeacherModel("german-credit-mlp")
 *     .setStudentConfig(new MlpConfig().setHiddenSizes(16))
 *     .enableQuantization(QuantType.INT8)
 *     .onEvent(e -> log.info(e.summary()))
 *     .distill(Dataset.builtin("german-credit"), new TrainingParams().setEpochs(30));
 * }</pre>
 *
 * <p>Setters only record values; everything is validated and copied when {@code distill} is
 * called, so a Distiller can be reused (and changed) for several jobs. It is not itself
 * thread-safe: configure it on one thread.
 */
public final class Distiller {
    private static final Logger LOG = Logger.getLogger(Distiller.class.getName());

    private final Rpc rpc;
    private final Executor asyncExecutor;
    private final List<Consumer<DistillEvent>> listeners = new ArrayList<>();
    private Teacher teacher;
    private TeacherPreparation teacherPreparation;
    private SelfDistillation selfDistillation;
    private StudentConfig student;
    private QuantType quantization = QuantType.NONE;
    private Gates gates;
    private String name = "";
    private Duration timeout;

    Distiller(Rpc rpc, Executor asyncExecutor) {
        this.rpc = rpc;
        this.asyncExecutor = asyncExecutor;
    }

    /**
     * The teacher: a zoo name (see {@link DistillBridge#listTeachers()}) or a server-side path
     * to a TorchScript file, an ONNX file or a Hugging Face directory under its data root.
     */
    public Distiller setTeacherModel(String zooNameOrServerPath) {
        this.teacher = zooNameOrServerPath == null ? null : Teacher.of(zooNameOrServerPath);
        return this;
    }

    /**
     * The teacher, including one to upload: {@code setTeacherModel(Teacher.upload(Path.of("bert/")))}
     * sends the local file or directory to the server when the job is submitted.
     */
    public Distiller setTeacherModel(Teacher teacher) {
        this.teacher = teacher;
        return this;
    }

    /**
     * How the server prepares a teacher that has no head for the task (e.g. the {@code minilm-l6}
     * encoder): fine-tune a head, and the encoder when asked, first. Null = the server's defaults.
     */
    public Distiller setTeacherPreparation(TeacherPreparation preparation) {
        this.teacherPreparation = preparation;
        return this;
    }

    /**
     * Self-distillation: no external teacher (the teacher becomes {@code "self"}); the student's
     * deepest exit teaches exits after its shallower layers, and {@code setShipExit(k)} ships a
     * truncated model.
     */
    public Distiller setSelfDistillation(SelfDistillation selfDistillation) {
        this.selfDistillation = selfDistillation;
        if (selfDistillation != null) {
            this.teacher = Teacher.of("self");
        }
        return this;
    }

    /** The student's shape: {@link MlpConfig}, {@link CnnConfig} or {@link TransformerConfig}. */
    public Distiller setStudentConfig(StudentConfig studentConfig) {
        this.student = studentConfig;
        return this;
    }

    /** {@link QuantType#INT8} adds a quantized model to the artifact; the default is NONE. */
    public Distiller enableQuantization(QuantType quantType) {
        this.quantization = Objects.requireNonNull(quantType, "quantType");
        return this;
    }

    /** Checks the artifact must pass on the server; unset = the server's defaults. */
    public Distiller setGates(Gates gates) {
        this.gates = gates;
        return this;
    }

    /** A free-form label shown in job listings. */
    public Distiller setName(String name) {
        this.name = name == null ? "" : name;
        return this;
    }

    /**
     * Adds a listener for the job's events (stages, training progress, validation, logs, the
     * final event), called in sequence order on the thread running the job. A listener that
     * throws is logged and does not stop the job.
     */
    public Distiller onEvent(Consumer<DistillEvent> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return this;
    }

    /**
     * Bounds the whole of {@code distill}: submit, training and the final event. When it
     * passes, {@code distill} throws DEADLINE_EXCEEDED and the job keeps running on the server
     * (cancel it with {@link DistillBridge#cancelJob(String)}). Default: no limit.
     */
    public Distiller setTimeout(Duration timeout) {
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        this.timeout = timeout;
        return this;
    }

    /**
     * Submits the job and blocks until it ends.
     *
     * @param dataset what to train and evaluate on
     * @param params training hyper-parameters; null (or unset fields) for the server's defaults
     * @return the result of a job that succeeded; download its artifact with
     *     {@link DistillationResult#download}
     * @throws DistillException INVALID_ARGUMENT naming the field for a bad description (local
     *     or server-side), NOT_FOUND for an unknown teacher or dataset, ABORTED with the job's
     *     error when it failed, CANCELLED when it was cancelled, DEADLINE_EXCEEDED on timeout
     */
    public DistillationResult distill(Dataset dataset, TrainingParams params) {
        return snapshot(dataset, params).run(new AtomicReference<>());
    }

    /**
     * Like {@link #distill} but returns at once. The description is validated and copied now:
     * an invalid one gives a future that has already failed. Cancelling the future stops
     * watching and cancels the job on the server.
     */
    public CompletableFuture<DistillationResult> distillAsync(Dataset dataset, TrainingParams params) {
        Submission submission;
        try {
            submission = snapshot(dataset, params);
        } catch (DistillException e) {
            return CompletableFuture.failedFuture(e);
        }
        Context.CancellableContext context = Context.current().withCancellation();
        AtomicReference<String> jobId = new AtomicReference<>();
        CompletableFuture<DistillationResult> future = CompletableFuture.supplyAsync(
                () -> submission.run(jobId), context.fixedContextExecutor(asyncExecutor));
        future.whenComplete((result, error) -> {
            context.cancel(null); // stops the watch stream if it is still open
            if (future.isCancelled()) {
                cancelQuietly(jobId.get());
            }
        });
        return future;
    }

    /** Everything one run needs, copied from the builder so later changes to it do not leak in. */
    private record Submission(Rpc rpc, DistillSpec spec, Path teacherFile, Path datasetFile, Duration timeout,
            List<Consumer<DistillEvent>> listeners) {
        /**
         * Uploads local files, submits, then watches until the job ends; reports the job id as
         * soon as it is known.
         */
        DistillationResult run(AtomicReference<String> jobIdSink) {
            Deadline deadline = timeout == null ? null : Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS);
            DistillSpec.Builder toSubmit = spec.toBuilder();
            if (teacherFile != null) {
                String id = Uploader.upload(rpc, UploadKind.UPLOAD_KIND_MODEL, teacherFile, deadline);
                toSubmit.setTeacher(spec.getTeacher().toBuilder().setUploadId(id));
            }
            if (datasetFile != null) {
                String id = Uploader.upload(rpc, UploadKind.UPLOAD_KIND_DATASET, datasetFile, deadline);
                toSubmit.setDataset(spec.getDataset().toBuilder().setUploadId(id));
            }
            SubmitJobRequest request = SubmitJobRequest.newBuilder().setSpec(toSubmit).build();
            Job job = rpc.unary(null, deadline, stub -> stub.submitJob(request));
            jobIdSink.set(job.getJobId());
            return new JobWatcher(rpc, job.getJobId(), deadline, listeners).await();
        }
    }

    private Submission snapshot(Dataset dataset, TrainingParams params) {
        DistillSpec spec = spec(dataset, params);
        Path teacherFile = teacher.localFile().orElse(null);
        return new Submission(rpc, spec, teacherFile, dataset.localFile().orElse(null), timeout, List.copyOf(listeners));
    }

    /** Validates the builder's state and copies it into a spec. */
    private DistillSpec spec(Dataset dataset, TrainingParams params) {
        Problems problems = new Problems();
        DistillSpec.Builder spec = DistillSpec.newBuilder().setQuantization(quantization.toProto()).setName(name);
        if (teacher == null || teacher.reference().filter(String::isBlank).isPresent()) {
            problems.add("teacher", "setTeacherModel(...) was not called");
        } else {
            TeacherRef.Builder ref = TeacherRef.newBuilder();
            teacher.reference().ifPresent(ref::setReference);
            teacher.uploadId().ifPresent(ref::setUploadId);
            // a local file gets its upload id when the job is submitted
            if (teacherPreparation != null) {
                ref.setPreparation(teacherPreparation.toProto(problems));
            }
            spec.setTeacher(ref);
        }
        if (student == null) {
            problems.add("student", "setStudentConfig(...) was not called");
        } else {
            spec.setStudent(studentProto(student, problems));
        }
        if (dataset == null) {
            problems.add("dataset", "must not be null");
        } else {
            spec.setDataset(dataset.toProto());
        }
        if (params != null) {
            spec.setTraining(params.toProto(problems));
        }
        if (gates != null) {
            spec.setGates(gates.toProto(problems));
        }
        if (selfDistillation != null) {
            spec.setSelfDistillation(selfDistillation.toProto(problems));
        }
        problems.throwIfAny();
        return spec.build();
    }

    private static dev.distillbridge.proto.v1.StudentConfig studentProto(StudentConfig config, Problems problems) {
        var builder = dev.distillbridge.proto.v1.StudentConfig.newBuilder();
        if (config instanceof MlpConfig mlp) {
            builder.setMlp(mlp.toProto(problems));
        } else if (config instanceof CnnConfig cnn) {
            builder.setCnn(cnn.toProto(problems));
        } else if (config instanceof TransformerConfig transformer) {
            builder.setTransformer(transformer.toProto(problems));
        }
        return builder.build();
    }

    private void cancelQuietly(String jobId) {
        if (jobId == null) {
            return;
        }
        try {
            rpc.unary(jobId, stub -> stub.cancelJob(
                    dev.distillbridge.proto.v1.CancelJobRequest.newBuilder().setJobId(jobId).build()));
        } catch (DistillException e) {
            if (e.getStatusCode() != Status.Code.FAILED_PRECONDITION) {
                LOG.log(Level.WARNING, "could not cancel job " + jobId, e);
            }
        }
    }
}
