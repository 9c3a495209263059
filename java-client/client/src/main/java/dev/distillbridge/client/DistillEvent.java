package dev.distillbridge.client;

import dev.distillbridge.proto.v1.JobEvent;
import java.time.Instant;
import java.util.Locale;

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
        JobState state) {

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
        /** The job ended; always the last event. */
        FINISHED
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
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, null);
        }

        DistillEvent progress(dev.distillbridge.proto.v1.ProgressEvent p) {
            return new DistillEvent(Kind.PROGRESS, jobId, sequence, time, "", "", "",
                    p.getEpoch(), p.getEpochs(), p.getStep(), p.getStepsPerEpoch(), p.getLoss(), p.getSoftLoss(),
                    p.getHardLoss(), p.getLearningRate(), p.getTemperature(), p.getAlpha(), 0, false, null);
        }

        DistillEvent validation(dev.distillbridge.proto.v1.ValidationEvent v) {
            return new DistillEvent(Kind.VALIDATION, jobId, sequence, time, "", "", "",
                    v.getEpoch(), 0, 0, 0, v.getLoss(), 0, 0, 0, 0, 0, v.getAccuracy(), v.getBest(), null);
        }

        DistillEvent log(dev.distillbridge.proto.v1.LogEvent l) {
            return new DistillEvent(Kind.LOG, jobId, sequence, time, "", l.getMessage(), l.getLevel(),
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, null);
        }

        DistillEvent finished(dev.distillbridge.proto.v1.FinishedEvent f) {
            return new DistillEvent(Kind.FINISHED, jobId, sequence, time, "", f.getError(), "",
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, JobState.fromProto(f.getState()));
        }
    }
}
