package dev.distillbridge.spec;

import java.util.List;
import java.util.Objects;

/**
 * A training schedule: stages, each a share of all training steps, in which the temperature and
 * alpha (the teacher's participation) move from a start to an end value. Mirrors Python's
 * {@code bridge.schedule.Schedule}.
 *
 * <pre>{@code
 * new TrainingParams().setSchedule(Schedule.progressive())          // the server's default
 * new TrainingParams().setSchedule(Schedule.constant(4.0, 0.5))      // the seed's CustomLoss
 * new TrainingParams().setSchedule(Schedule.custom(
 *         ScheduleStage.of("warmup", 0.3).hardLabelsOnly(),
 *         ScheduleStage.of("distill", 0.7).temperature(6, 1).alpha(0.9, 0.3).cosine()))
 * new TrainingParams().setSchedule(Schedule.of("progressive",     // a preset, edited
 *         ScheduleStage.of("warmup", 0.3).temperature(4, 4).hardLabelsOnly(),
 *         ScheduleStage.of("distill", 0.6).temperature(4, 1).alpha(0.9, 0.5).cosine(),
 *         ScheduleStage.of("finetune", 0.1).temperature(1, 1).hardLabelsOnly().learningRateScale(0.1)))
 * }</pre>
 *
 * Values are validated when the job is submitted (fractions must sum to 1).
 */
public final class Schedule {
    private final String name;
    private final List<ScheduleStage> stages;

    private Schedule(String name, List<ScheduleStage> stages) {
        this.name = name;
        this.stages = List.copyOf(stages);
    }

    /**
     * The progressive preset: warm-up (first 20% of steps, hard labels only), distillation
     * (temperature 4 to 1 along a cosine, alpha 0.9 to 0.5), fine-tuning (last 10%: teacher
     * released, hard labels only, learning rate x0.1). The server's default.
     */
    public static Schedule progressive() {
        return new Schedule("progressive", List.of());
    }

    /** One stage with a fixed temperature and alpha (the seed's {@code CustomLoss}). */
    public static Schedule constant(double temperature, double alpha) {
        return new Schedule("constant", List.of(
                ScheduleStage.of("distill", 1.0).temperature(temperature, temperature).alpha(alpha, alpha)));
    }

    /** Your own list of stages, in order. */
    public static Schedule custom(ScheduleStage... stages) {
        return new Schedule("custom", List.of(stages));
    }

    /**
     * A schedule with this name and these stages, as Python's {@code Schedule(name, stages)}: a
     * preset spelled out or edited (e.g. {@code "progressive"} with a longer warm-up, as
     * Python's {@code Schedule.progressive(warmup=0.3)} sends it), which the server runs as
     * given. With no stages it is the preset of that name, as the server defines it.
     */
    public static Schedule of(String name, ScheduleStage... stages) {
        return new Schedule(Objects.requireNonNull(name, "name"), List.of(stages));
    }

    public String name() {
        return name;
    }

    /** The stages; empty for a preset the server spells out. */
    public List<ScheduleStage> stages() {
        return stages;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Schedule s && s.name.equals(name) && s.stages.equals(stages);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, stages);
    }

    @Override
    public String toString() {
        return "Schedule{" + name + (stages.isEmpty() ? "" : ", " + stages) + "}";
    }
}
