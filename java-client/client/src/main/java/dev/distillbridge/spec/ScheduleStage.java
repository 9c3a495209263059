package dev.distillbridge.spec;

import java.util.Objects;

/**
 * One stage of a {@link Schedule}: a share of all training steps; temperature and alpha move
 * from start to end (linear by default, or {@link #cosine()}); {@link #learningRateScale} multiplies
 * the learning rate. Alpha 0 at both ends means hard labels only: the teacher is not used.
 * Immutable: every method returns a new stage.
 */
public final class ScheduleStage {
    private final String name;
    private final double fraction;
    private final double temperatureStart;
    private final double temperatureEnd;
    private final double alphaStart;
    private final double alphaEnd;
    private final String anneal;
    private final double lrScale;

    private ScheduleStage(String name, double fraction, double temperatureStart, double temperatureEnd,
            double alphaStart, double alphaEnd, String anneal, double lrScale) {
        this.name = name;
        this.fraction = fraction;
        this.temperatureStart = temperatureStart;
        this.temperatureEnd = temperatureEnd;
        this.alphaStart = alphaStart;
        this.alphaEnd = alphaEnd;
        this.anneal = anneal;
        this.lrScale = lrScale;
    }

    /** A stage named {@code name} taking {@code fraction} of all steps (temperature 4, alpha 0.5). */
    public static ScheduleStage of(String name, double fraction) {
        return new ScheduleStage(name, fraction, 4.0, 4.0, 0.5, 0.5, "linear", 1.0);
    }

    public ScheduleStage temperature(double start, double end) {
        return new ScheduleStage(name, fraction, start, end, alphaStart, alphaEnd, anneal, lrScale);
    }

    public ScheduleStage alpha(double start, double end) {
        return new ScheduleStage(name, fraction, temperatureStart, temperatureEnd, start, end, anneal, lrScale);
    }

    /** Hard labels only (alpha 0): the teacher is not used in this stage. */
    public ScheduleStage hardLabelsOnly() {
        return alpha(0, 0);
    }

    /** Temperature and alpha follow a half cosine instead of a straight line. */
    public ScheduleStage cosine() {
        return new ScheduleStage(name, fraction, temperatureStart, temperatureEnd, alphaStart, alphaEnd, "cosine",
                lrScale);
    }

    public ScheduleStage learningRateScale(double scale) {
        return new ScheduleStage(name, fraction, temperatureStart, temperatureEnd, alphaStart, alphaEnd, anneal,
                scale);
    }

    public String name() {
        return name;
    }

    public double fraction() {
        return fraction;
    }

    /** Temperature at the start of the stage. */
    public double temperatureStart() {
        return temperatureStart;
    }

    /** Temperature at the end of the stage. */
    public double temperatureEnd() {
        return temperatureEnd;
    }

    /** Alpha (the soft loss's weight) at the start of the stage. */
    public double alphaStart() {
        return alphaStart;
    }

    /** Alpha at the end of the stage. */
    public double alphaEnd() {
        return alphaEnd;
    }

    /** How temperature and alpha move: {@code "linear"} or {@code "cosine"}. */
    public String anneal() {
        return anneal;
    }

    /** The factor the learning rate is multiplied by in this stage. */
    public double learningRateScale() {
        return lrScale;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ScheduleStage s && Objects.equals(s.name, name) && s.fraction == fraction
                && s.temperatureStart == temperatureStart && s.temperatureEnd == temperatureEnd
                && s.alphaStart == alphaStart && s.alphaEnd == alphaEnd && s.anneal.equals(anneal)
                && s.lrScale == lrScale;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, fraction, temperatureStart, temperatureEnd, alphaStart, alphaEnd, anneal, lrScale);
    }

    @Override
    public String toString() {
        return name + "(" + fraction + ", T " + temperatureStart + "->" + temperatureEnd + ", alpha " + alphaStart
                + "->" + alphaEnd + ", " + anneal + ", lr x" + lrScale + ")";
    }
}
