package dev.distillbridge.client;

import dev.distillbridge.client.internal.JobRunner;
import dev.distillbridge.client.internal.Problems;
import dev.distillbridge.client.internal.SpecProtos;
import dev.distillbridge.proto.v1.DistillSpec;
import dev.distillbridge.proto.v1.TeacherRef;
import dev.distillbridge.spec.CnnConfig;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.Gates;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.QuantType;
import dev.distillbridge.spec.SelfDistillation;
import dev.distillbridge.spec.StudentConfig;
import dev.distillbridge.spec.Teacher;
import dev.distillbridge.spec.TeacherPreparation;
import dev.distillbridge.spec.TrainingParams;
import dev.distillbridge.spec.TransformerConfig;
import io.grpc.Deadline;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;

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
 * <p>{@link #validate(Dataset, TrainingParams)} checks a description the same way and starts
 * nothing, answering the normalized spec the server would run.
 *
 * <p>Setters only record values; everything is validated and copied when {@code distill} is
 * called, so a Distiller can be reused (and changed) for several jobs. It is not itself
 * thread-safe: configure it on one thread.
 */
public final class Distiller {
    // What MLflow's registry takes without surprises (as bridge.spec.REGISTERED_MODEL_NAME).
    private static final Pattern REGISTERED_MODEL_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9_. -]{0,254}[A-Za-z0-9_.-])?");
    private final JobRunner runner;
    private final Executor asyncExecutor;
    private final List<Consumer<DistillEvent>> listeners = new ArrayList<>();
    private Teacher teacher;
    private TeacherPreparation teacherPreparation;
    private SelfDistillation selfDistillation;
    private StudentConfig student;
    private QuantType quantization = QuantType.NONE;
    private Gates gates;
    private String name = "";
    private String registeredModelName = "";
    private Duration timeout;

    /**
     * A description run by {@code runner}. Used by the connections of this library
     * ({@link DistillBridge#newDistiller()}, {@link dev.distillbridge.debug.DebugConnection#newDistiller()});
     * {@link JobRunner} is internal API.
     *
     * @param runner the transport that submits and follows the job
     * @param asyncExecutor runs {@link #distillAsync} jobs
     */
    public Distiller(JobRunner runner, Executor asyncExecutor) {
        this.runner = runner;
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
     * sends the local file or directory to the server when the job is submitted;
     * {@code Teacher.of("model.onnx").withOutput("probabilities")} names an ONNX teacher's class output.
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
     * The MLflow registered model the artifact becomes a new version of, on a server with
     * {@code --mlflow-tracking-uri}; empty (the default) = the name from {@link #setName}.
     * Letters, digits, '_', '-', '.' and spaces, starting with a letter or digit, at most 256.
     * A server (or debug server) that does not record jobs in MLflow refuses a job that sets it
     * ({@code INVALID_ARGUMENT} naming {@code registered_model_name}); {@code validate} checks
     * only its form.
     */
    public Distiller setRegisteredModelName(String registeredModelName) {
        this.registeredModelName = registeredModelName == null ? "" : registeredModelName;
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
        Submission submission = snapshot(dataset, params);
        return submission.watch(submission.submit(), null, null);
    }

    /**
     * Like {@link #distill} but returns at once, with a handle on the running job: its result
     * as a future, its events, {@link DistillationJob#cancel()}. The description is validated
     * and copied now: an invalid one gives a job that has already failed (INVALID_ARGUMENT
     * naming the field) and sends nothing.
     */
    public DistillationJob distillAsync(Dataset dataset, TrainingParams params) {
        Submission submission;
        try {
            submission = snapshot(dataset, params);
        } catch (DistillException e) {
            return DistillationJob.failed(runner, e);
        }
        return DistillationJob.start(submission, asyncExecutor);
    }

    /**
     * Checks the description as {@link #distill} would submit it, and starts nothing: the same
     * local validation first (every bad field named before anything is sent), then the
     * server's own checks (teacher and dataset exist and fit together, a small dataset file is
     * readable), the same ones a submission runs. A {@link Teacher#upload(Path) Teacher.upload}
     * or {@link Dataset#upload(Path) Dataset.upload} file is uploaded first, exactly as for
     * {@code distill}, so the answer refers to it by its upload id. Over
     * {@link dev.distillbridge.debug.DebugConnection} the debug server's Python process runs the checks.
     *
     * <pre>{@code
     * DistillSpec spec = bridge.newDistiller()
     *     .setTeacherModel("german-credit-mlp")
     *     .setStudentConfig(new MlpConfig().setHiddenSizes(16))
     *     .validate(Dataset.builtin("german-credit"), new TrainingParams().setEpochs(30));
     * spec.getTraining().getBatchSize();   // the server's default, filled in
     * }</pre>
     *
     * @param dataset what the job would train and evaluate on
     * @param params training hyper-parameters; null (or unset fields) for the server's defaults
     * @return the normalized spec, every default filled in: exactly what the server's pipeline
     *     would receive for this description (generated class
     *     {@code dev.distillbridge.proto.v1.DistillSpec})
     * @throws DistillException as {@link #distill} would at submission: INVALID_ARGUMENT naming
     *     the field for a bad description (local or server-side), NOT_FOUND for an unknown
     *     teacher, dataset or upload, DEADLINE_EXCEEDED past {@link #setTimeout}
     */
    public DistillSpec validate(Dataset dataset, TrainingParams params) {
        Submission submission = snapshot(dataset, params);
        return runner.validate(submission.spec(), submission.files(), submission.deadline());
    }

    /**
     * Everything one run needs, copied from the builder so later changes to it do not leak in.
     * The deadline (from {@link #setTimeout}) runs from the moment the run was asked for.
     */
    record Submission(JobRunner runner, DistillSpec spec, JobRunner.LocalFiles files, Deadline deadline,
            List<Consumer<DistillEvent>> listeners) {
        /** Sends local files with the job and submits it; returns its id. */
        String submit() {
            return runner.submit(spec, files, deadline);
        }

        /**
         * Watches a submitted job until it ends; {@code before} gets each event before the
         * listeners, {@code after} after them (either may be null).
         */
        DistillationResult watch(String jobId, Consumer<DistillEvent> before, Consumer<DistillEvent> after) {
            List<Consumer<DistillEvent>> all = new ArrayList<>();
            if (before != null) {
                all.add(before);
            }
            all.addAll(listeners);
            if (after != null) {
                all.add(after);
            }
            return JobEvents.follow(runner, jobId, deadline, all);
        }
    }

    private Submission snapshot(Dataset dataset, TrainingParams params) {
        DistillSpec spec = spec(dataset, params);
        JobRunner.LocalFiles files = new JobRunner.LocalFiles(teacher.localFile().orElse(null),
                dataset.localFile().orElse(null));
        Deadline deadline = timeout == null ? null : Deadline.after(timeout.toNanos(), TimeUnit.NANOSECONDS);
        return new Submission(runner, spec, files, deadline, List.copyOf(listeners));
    }

    /** Validates the builder's state and copies it into a spec. */
    private DistillSpec spec(Dataset dataset, TrainingParams params) {
        Problems problems = new Problems();
        DistillSpec.Builder spec = DistillSpec.newBuilder().setQuantization(SpecProtos.quantization(quantization)).setName(name)
                .setRegisteredModelName(registeredModelName);
        if (!registeredModelName.isEmpty() && !REGISTERED_MODEL_NAME.matcher(registeredModelName).matches()) {
            problems.add("registered_model_name", "letters, digits, '_', '-', '.' and spaces, starting with a "
                    + "letter or digit, at most 256 characters; got '" + registeredModelName + "'");
        }
        if (teacher == null || teacher.reference().filter(String::isBlank).isPresent()) {
            problems.add("teacher", "setTeacherModel(...) was not called");
        } else {
            TeacherRef.Builder ref = TeacherRef.newBuilder();
            teacher.reference().ifPresent(ref::setReference);
            teacher.uploadId().ifPresent(ref::setUploadId);
            teacher.output().ifPresent(ref::setOutput);
            // a local file gets its upload id when the job is submitted
            if (teacherPreparation != null) {
                ref.setPreparation(SpecProtos.preparation(teacherPreparation, problems));
            }
            spec.setTeacher(ref);
        }
        if (student == null) {
            problems.add("student", "setStudentConfig(...) was not called");
        } else {
            spec.setStudent(SpecProtos.student(student, problems));
        }
        if (dataset == null) {
            problems.add("dataset", "must not be null");
        } else {
            spec.setDataset(SpecProtos.dataset(dataset));
        }
        if (params != null) {
            spec.setTraining(SpecProtos.training(params, problems));
        }
        if (gates != null) {
            spec.setGates(SpecProtos.gates(gates, problems));
        }
        if (selfDistillation != null) {
            spec.setSelfDistillation(SpecProtos.selfDistillation(selfDistillation, problems));
        }
        problems.throwIfAny();
        return spec.build();
    }
}
