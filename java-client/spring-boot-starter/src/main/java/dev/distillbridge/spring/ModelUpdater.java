package dev.distillbridge.spring;

import dev.distillbridge.client.DistillBridge;
import dev.distillbridge.client.DistillException;
import dev.distillbridge.client.DistillationJob;
import dev.distillbridge.client.DistillationResult;
import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.ModelException;
import dev.distillbridge.inference.SelfCheckReport;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.QuantType;
import dev.distillbridge.spec.TrainingParams;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Distills a new model through the Distill Bridge server and installs it in the
 * {@link LiveModel} once it passes: the server's gates, the download's SHA-256 checks, the
 * golden vectors replayed at load, a self-check, and compatibility with the model it replaces
 * (same input shape and labels, so callers need not change). Anything else leaves the current
 * model in place. The actuator endpoint {@code distillbridge} drives it; it is also a bean of
 * its own, for code that wants to start updates itself.
 */
public class ModelUpdater {
    private static final Logger LOG = Logger.getLogger(ModelUpdater.class.getName());

    private final DistillBridge bridge;
    private final LiveModel model;
    private final Path workDir;
    private final Duration jobTimeout;
    private final Duration callTimeout;
    private final Map<String, Update> updates = new ConcurrentHashMap<>();

    /** Distills with {@code bridge}, installs into {@code model}. */
    public ModelUpdater(DistillBridge bridge, LiveModel model, DistillBridgeProperties properties) {
        this.bridge = Objects.requireNonNull(bridge, "bridge");
        this.model = Objects.requireNonNull(model, "model");
        this.workDir = Objects.requireNonNull(properties.getAdmin().getWorkDir(), "distillbridge.admin.work-dir");
        this.jobTimeout = properties.getAdmin().getJobTimeout();
        this.callTimeout = properties.getServer().getCallTimeout();
    }

    /**
     * A distillation to run: an MLP student of {@code hiddenSizes} for {@code teacher} on
     * {@code dataset}; unset training fields take the server's defaults.
     */
    public record DistillRequest(String teacher, String dataset, List<Integer> hiddenSizes, boolean int8,
            Integer epochs, Integer batchSize, Double learningRate, Long seed) {
    }

    /** Where an update stands. */
    public enum State {
        /** Submitted; distilling, downloading or verifying. */
        RUNNING,
        /** Passed every check and now serves requests. */
        SWAPPED,
        /** Distilled, but refused by a check here; the previous model still serves. */
        REJECTED,
        /** The job failed, was cancelled, or could not be downloaded. */
        FAILED
    }

    /**
     * One update.
     *
     * @param jobId the server's job id, which becomes the new model's id
     * @param state where it stands
     * @param message why it was rejected or failed; empty otherwise
     * @param updatedAt when the state last changed
     */
    public record Update(String jobId, State state, String message, Instant updatedAt) {
        Update to(State next, String why) {
            return new Update(jobId, next, why, Instant.now());
        }
    }

    /**
     * Submits the distillation and returns once the server accepted it; the rest happens in
     * the background.
     *
     * @throws DistillException INVALID_ARGUMENT naming the field, NOT_FOUND for an unknown
     *     teacher or dataset, UNAVAILABLE when the server cannot be reached
     */
    public Update start(DistillRequest request) {
        Objects.requireNonNull(request, "request");
        DistillationJob job = bridge.newDistiller()
                .setTeacherModel(request.teacher())
                .setStudentConfig(new MlpConfig().setHiddenSizes(
                        request.hiddenSizes() == null ? new int[0]
                                : request.hiddenSizes().stream().mapToInt(Integer::intValue).toArray()))
                .enableQuantization(request.int8() ? QuantType.INT8 : QuantType.NONE)
                .setName("spring-boot hot swap")
                .setTimeout(jobTimeout)
                .distillAsync(request.dataset() == null ? null : Dataset.builtin(request.dataset()), params(request));
        String jobId = awaitSubmitted(job);
        Update update = new Update(jobId, State.RUNNING, "", Instant.now());
        updates.put(jobId, update);
        job.result().whenComplete((result, error) -> updates.put(jobId, error == null
                ? install(update, result) : update.to(State.FAILED, message(error))));
        return update;
    }

    /** The update for a job started here. */
    public Optional<Update> update(String jobId) {
        return Optional.ofNullable(updates.get(jobId));
    }

    private Update install(Update update, DistillationResult result) {
        DistilledModel candidate;
        try {
            Path dir = result.download(workDir.resolve(update.jobId()));
            candidate = DistilledModel.load(dir); // SHA-256 of every file, golden vectors replayed
        } catch (DistillException | ModelException e) {
            return update.to(State.FAILED, e.getMessage());
        }
        SelfCheckReport check = candidate.selfCheck();
        Optional<String> refusal = check.healthy()
                ? model.apply(current -> incompatibility(current, candidate))
                : Optional.of("self-check failed: " + check.problem());
        if (refusal.isPresent()) {
            candidate.close();
            LOG.warning(() -> "not installing " + update.jobId() + ": " + refusal.get());
            return update.to(State.REJECTED, refusal.get());
        }
        model.swap(candidate);
        LOG.info(() -> "now serving " + update.jobId() + " (" + candidate.precision() + ", max golden diff "
                + check.maxGoldenDiff() + ")");
        return update.to(State.SWAPPED, "");
    }

    /** Why {@code candidate} cannot replace {@code current} without breaking callers, if it cannot. */
    public static Optional<String> incompatibility(DistilledModel current, DistilledModel candidate) {
        if (current.manifest().isText() != candidate.manifest().isText()) {
            return Optional.of("modality " + candidate.manifest().modality() + " differs from the current model's "
                    + current.manifest().modality());
        }
        if (!Arrays.equals(current.inputShape(), candidate.inputShape())) {
            return Optional.of("input shape " + Arrays.toString(candidate.inputShape())
                    + " differs from the current model's " + Arrays.toString(current.inputShape()));
        }
        if (!current.labels().equals(candidate.labels())) {
            return Optional.of("labels " + candidate.labels() + " differ from the current model's " + current.labels());
        }
        return Optional.empty();
    }

    private String awaitSubmitted(DistillationJob job) {
        try {
            return job.submitted().get(callTimeout.toMillis() * 2, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof DistillException d ? d : new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            job.cancel();
            throw new IllegalStateException("the server did not accept the job within " + callTimeout.multipliedBy(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            job.cancel();
            throw new IllegalStateException("interrupted while submitting", e);
        }
    }

    private static TrainingParams params(DistillRequest request) {
        TrainingParams params = new TrainingParams();
        if (request.epochs() != null) {
            params.setEpochs(request.epochs());
        }
        if (request.batchSize() != null) {
            params.setBatchSize(request.batchSize());
        }
        if (request.learningRate() != null) {
            params.setLearningRate(request.learningRate());
        }
        if (request.seed() != null) {
            params.setSeed(request.seed());
        }
        return params;
    }

    private static String message(Throwable error) {
        Throwable cause = error.getCause() != null && !(error instanceof DistillException) ? error.getCause() : error;
        if (!(cause instanceof DistillException)) {
            LOG.log(Level.WARNING, "update failed", cause);
        }
        return String.valueOf(cause.getMessage());
    }
}
