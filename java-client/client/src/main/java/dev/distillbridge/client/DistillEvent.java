package dev.distillbridge.client;

import dev.distillbridge.proto.v1.JobEvent;
import dev.distillbridge.proto.v1.PhaseProgressEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * One event of a running job, as streamed by {@code WatchJob}. Events of a job have gap-free
 * sequence numbers from 0 and are delivered to listeners in that order; the last is always
 * {@link Kind#FINISHED}. Fields that do not apply to an event's {@link #kind()} are 0, false,
 * an empty string or null.
 *
 * @param kind what happened
 * @param jobId the job
 * @param sequence 0-based, gap-free position of the event in the job's stream
 * @param time when the server emitted it (null if it did not say)
 * @param stage STAGE: the pipeline stage entered (e.g. "train", "export")
 * @param message STAGE: what the stage does; LOG: the log line; FINISHED: the error, if any
 * @param level LOG: "INFO", "WARNING", ...
 * @param epoch PROGRESS and VALIDATION: 1-based epoch
 * @param epochs PROGRESS: number of epochs
 * @param step PROGRESS: step within the epoch
 * @param stepsPerEpoch PROGRESS: steps per epoch
 * @param loss PROGRESS: training loss; VALIDATION: validation loss
 * @param softLoss PROGRESS: distillation (teacher) part of the loss
 * @param hardLoss PROGRESS: label part of the loss
 * @param learningRate PROGRESS: current learning rate
 * @param temperature PROGRESS: current temperature
 * @param alpha PROGRESS: current soft-loss weight
 * @param accuracy VALIDATION: validation accuracy (0..1)
 * @param best VALIDATION: true when this epoch is the best so far
 * @param state FINISHED: the job's final state
 * @param phaseProgress PHASE_PROGRESS: how far a phase (teacher preparation, training, export,
 *     ...) has come; null for every other kind
 * @param mlflowRun MLFLOW_RUN: the job's MLflow run (and, once registered, its model version);
 *     null for every other kind
 */
public record DistillEvent(
        Kind kind,
        String jobId,
        long sequence,
        Instant time,
        String stage,
        String message,
        String level,
        int epoch,
        int epochs,
        int step,
        int stepsPerEpoch,
        double loss,
        double softLoss,
        double hardLoss,
        double learningRate,
        double temperature,
        double alpha,
        double accuracy,
        boolean best,
        JobState state,
        PhaseProgress phaseProgress,
        MlflowRun mlflowRun) {

    /** The kind of a {@link DistillEvent}. */
    public enum Kind {
        /** The pipeline entered a stage. */
        STAGE,
        /** A training step report. */
        PROGRESS,
        /** The end-of-epoch validation result. */
        VALIDATION,
        /** A log line from the server. */
        LOG,
        /** How far a phase has come: {@link #phaseProgress()}. */
        PHASE_PROGRESS,
        /**
         * The job's MLflow run was created, or its artifact registered as a model version:
         * {@link #mlflowRun()} (a server with {@code --mlflow-tracking-uri}).
         */
        MLFLOW_RUN,
        /** The job ended; always the last event. */
        FINISHED
    }

    /**
     * How far a phase of the job has come, from a {@link Kind#PHASE_PROGRESS} event. The server
     * sends at most about one per second per phase, plus the phase's first and last.
     *
     * @param phase "teacher_prep", "teacher_cache", "train", "export", "quantize", "jvm_check", ...
     * @param done work done so far, in {@code unit}
     * @param total work in all, in {@code unit}; 0 when not known
     * @param unit "steps", "rows", "models", ...
     * @param elapsed time spent in the phase so far
     * @param eta estimated time left, from the rate measured so far; empty until there is one
     * @param message on the phase's first event: what it is; on the first event with an
     *     estimate: roughly how long the phase will take; else empty
     * @param figures phase-specific figures so far, e.g. {@code {"epoch": 2, "loss": 0.41}}
     */
    public record PhaseProgress(String phase, long done, long total, String unit, Duration elapsed,
            Optional<Duration> eta, String message, Map<String, Double> figures) {
        /** Copies {@code figures}; nulls become empty values. */
        public PhaseProgress {
            phase = Objects.requireNonNullElse(phase, "");
            unit = Objects.requireNonNullElse(unit, "");
            elapsed = Objects.requireNonNullElse(elapsed, Duration.ZERO);
            eta = Objects.requireNonNullElse(eta, Optional.empty());
            message = Objects.requireNonNullElse(message, "");
            figures = figures == null ? Map.of() : Map.copyOf(figures);
        }

        /** {@code done / total} (0..1), or empty when the total is not known. */
        public OptionalDouble fraction() {
            return total > 0 ? OptionalDouble.of(Math.min(1.0, Math.max(0.0, (double) done / total)))
                    : OptionalDouble.empty();
        }

        /**
         * A one-line rendering, e.g. {@code [train] 1200/2400 steps (50%), about 1m 20s left},
         * {@code [train] 1200 steps} when the total is not known, then {@code " - " + message}
         * when the event has one.
         */
        String summary() {
            StringBuilder line = new StringBuilder("[").append(phase).append("] ").append(done);
            if (total > 0) {
                line.append('/').append(total);
            }
            if (!unit.isEmpty()) {
                line.append(' ').append(unit);
            }
            if (total > 0) {
                line.append(" (").append((int) Math.floor(fraction().orElse(0) * 100)).append("%)");
            }
            if (eta.isPresent() && !eta.get().isZero()) { // a finished phase has nothing left to say
                line.append(", about ").append(human(eta.get())).append(" left");
            }
            if (!message.isEmpty()) {
                line.append(" - ").append(message);
            }
            return line.toString();
        }

        static PhaseProgress fromProto(PhaseProgressEvent p) {
            double eta = p.getEtaSeconds();
            return new PhaseProgress(p.getPhase(), p.getDone(), p.getTotal(), p.getUnit(),
                    seconds(p.getElapsedSeconds()),
                    eta >= 0 && Double.isFinite(eta) ? Optional.of(seconds(eta)) : Optional.empty(),
                    p.getMessage(), p.getFiguresMap());
        }

        private static Duration seconds(double seconds) {
            return Double.isFinite(seconds) && seconds > 0 ? Duration.ofNanos(Math.round(seconds * 1e9)) : Duration.ZERO;
        }

        /** "45s", "1m 20s", "1m 05s", "2h 05m" (rounded to whole seconds). */
        static String human(Duration d) {
            long s = Math.round(d.toMillis() / 1000.0);
            if (s < 60) {
                return s + "s";
            }
            if (s < 3600) {
                return String.format(Locale.ROOT, "%dm %02ds", s / 60, s % 60);
            }
            return String.format(Locale.ROOT, "%dh %02dm", s / 3600, (s % 3600) / 60);
        }
    }

    /** A one-line, human-readable rendering, e.g. for progress logs. */
    public String summary() {
        switch (kind) {
            case STAGE:
                return "[" + stage + "] " + message;
            case PROGRESS:
                return String.format(Locale.ROOT, "epoch %d/%d step %d/%d loss %.4f (soft %.4f, hard %.4f)",
                        epoch, epochs, step, stepsPerEpoch, loss, softLoss, hardLoss);
            case VALIDATION:
                return String.format(Locale.ROOT, "epoch %d validation accuracy %.4f loss %.4f%s",
                        epoch, accuracy, loss, best ? " (best)" : "");
            case LOG:
                return level + ": " + message;
            case PHASE_PROGRESS:
                return phaseProgress.summary();
            case MLFLOW_RUN:
                return mlflowRun.summary();
            default:
                return "finished: " + state + (message.isEmpty() ? "" : " - " + message);
        }
    }

    /** Converts a wire event; returns null for an event kind this client does not know. */
    static DistillEvent fromProto(JobEvent e) {
        Builder b = new Builder(e);
        switch (e.getEventCase()) {
            case STAGE:
                return b.stage(e.getStage());
            case PROGRESS:
                return b.progress(e.getProgress());
            case VALIDATION:
                return b.validation(e.getValidation());
            case LOG:
                return b.log(e.getLog());
            case FINISHED:
                return b.finished(e.getFinished());
            case PHASE_PROGRESS:
                return b.phaseProgress(e.getPhaseProgress());
            case MLFLOW_RUN:
                return b.mlflowRun(e.getMlflowRun());
            default:
                return null;
        }
    }

    /** Fills the common fields once, then one factory per event kind. */
    private static final class Builder {
        private final String jobId;
        private final long sequence;
        private final Instant time;

        Builder(JobEvent e) {
            this.jobId = e.getJobId();
            this.sequence = e.getSequence();
            this.time = e.hasTime() ? Instant.ofEpochSecond(e.getTime().getSeconds(), e.getTime().getNanos()) : null;
        }

        DistillEvent stage(dev.distillbridge.proto.v1.StageEvent s) {
            return new DistillEvent(Kind.STAGE, jobId, sequence, time, s.getStage(), s.getMessage(), "",
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, null, null, null);
        }

        DistillEvent progress(dev.distillbridge.proto.v1.ProgressEvent p) {
            return new DistillEvent(Kind.PROGRESS, jobId, sequence, time, "", "", "",
                    p.getEpoch(), p.getEpochs(), p.getStep(), p.getStepsPerEpoch(), p.getLoss(), p.getSoftLoss(),
                    p.getHardLoss(), p.getLearningRate(), p.getTemperature(), p.getAlpha(), 0, false, null, null, null);
        }

        DistillEvent validation(dev.distillbridge.proto.v1.ValidationEvent v) {
            return new DistillEvent(Kind.VALIDATION, jobId, sequence, time, "", "", "",
                    v.getEpoch(), 0, 0, 0, v.getLoss(), 0, 0, 0, 0, 0, v.getAccuracy(), v.getBest(), null, null, null);
        }

        DistillEvent log(dev.distillbridge.proto.v1.LogEvent l) {
            return new DistillEvent(Kind.LOG, jobId, sequence, time, "", l.getMessage(), l.getLevel(),
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, null, null, null);
        }

        DistillEvent finished(dev.distillbridge.proto.v1.FinishedEvent f) {
            return new DistillEvent(Kind.FINISHED, jobId, sequence, time, "", f.getError(), "",
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, JobState.fromProto(f.getState()), null, null);
        }

        DistillEvent phaseProgress(PhaseProgressEvent p) {
            return new DistillEvent(Kind.PHASE_PROGRESS, jobId, sequence, time, "", "", "",
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, null, PhaseProgress.fromProto(p), null);
        }

        DistillEvent mlflowRun(dev.distillbridge.proto.v1.MlflowRun m) {
            return new DistillEvent(Kind.MLFLOW_RUN, jobId, sequence, time, "", "", "",
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, null, null, MlflowRun.fromProto(m));
        }
    }
}
