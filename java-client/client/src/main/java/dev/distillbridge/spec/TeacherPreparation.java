package dev.distillbridge.spec;

import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * How the server prepares a teacher that has no head for the task (a bare text encoder such as
 * {@code minilm-l6}): it trains a new classification head, and the encoder too when
 * {@link #setFineTuneEncoder(boolean) fineTuneEncoder}, on the training split, then caches the
 * prepared teacher by (teacher, dataset, these values). Unset fields take the server's defaults
 * (fine-tune the encoder, 2 epochs, learning rate 5e-5).
 *
 * <pre>{@code distiller.setTeacherPreparation(new TeacherPreparation().setFineTuneEncoder(true).setEpochs(2))}</pre>
 *
 * Values are validated when the job is submitted.
 */
public final class TeacherPreparation {
    private Boolean fineTuneEncoder;
    private Integer epochs;
    private Double learningRate;

    /** Train the encoder's weights too, not only the new head. */
    public TeacherPreparation setFineTuneEncoder(boolean fineTuneEncoder) {
        this.fineTuneEncoder = fineTuneEncoder;
        return this;
    }

    /** Passes over the training split; > 0. */
    public TeacherPreparation setEpochs(int epochs) {
        this.epochs = epochs;
        return this;
    }

    /** Optimizer learning rate; finite and > 0. */
    public TeacherPreparation setLearningRate(double learningRate) {
        this.learningRate = learningRate;
        return this;
    }

    public Optional<Boolean> fineTuneEncoder() {
        return Optional.ofNullable(fineTuneEncoder);
    }

    public OptionalInt epochs() {
        return epochs == null ? OptionalInt.empty() : OptionalInt.of(epochs);
    }

    public OptionalDouble learningRate() {
        return learningRate == null ? OptionalDouble.empty() : OptionalDouble.of(learningRate);
    }

    @Override
    public String toString() {
        return "TeacherPreparation{fineTuneEncoder=" + fineTuneEncoder + ", epochs=" + epochs + ", learningRate="
                + learningRate + "}";
    }
}
