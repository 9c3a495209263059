package dev.distillbridge.spec;

import java.util.Arrays;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Training hyper-parameters. Every field is optional: one left unset takes the server's
 * default. Temperature and alpha apply under either preset schedule: progressive (the default)
 * anneals its distillation stage from {@code temperature} to 1 at {@code alpha} throughout
 * ({@code setAlpha(0)} = no distillation), constant holds both; unset, progressive anneals
 * 4 -> 1 and 0.9 -> 0.5 and constant uses the seed's {@code CustomLoss} (alpha 0.5,
 * temperature 4). A custom {@link Schedule} sets both per stage, so the server refuses them
 * beside one ({@code INVALID_ARGUMENT} naming {@code training.temperature} /
 * {@code training.alpha}).
 *
 * <pre>{@code new TrainingParams().setEpochs(3).setBatchSize(32).setSeed(7)}</pre>
 *
 * A builder, not itself thread-safe: values are validated (each problem naming its field, e.g.
 * {@code training.epochs}) and copied when {@link dev.distillbridge.client.Distiller#distill} or
 * {@link dev.distillbridge.client.Distiller#distillAsync} is called, so changing it afterwards does not change a job
 * already started.
 */
public final class TrainingParams {
    private Integer epochs;
    private Integer batchSize;
    private Double learningRate;
    private Double temperature;
    private Double alpha;
    private Long seed;
    private String schedule;
    private Schedule scheduleStages;
    private Integer workers;
    private Integer searchTrials;
    private Integer augmentCopies;
    private Double hiddenWeight;
    private Double attentionWeight;
    private int[] layerMap = new int[0];

    /** Passes over the training set; > 0. */
    public TrainingParams setEpochs(int epochs) {
        this.epochs = epochs;
        return this;
    }

    /** Samples per step; > 0. */
    public TrainingParams setBatchSize(int batchSize) {
        this.batchSize = batchSize;
        return this;
    }

    /** Optimizer learning rate; finite and > 0. */
    public TrainingParams setLearningRate(double learningRate) {
        this.learningRate = learningRate;
        return this;
    }

    /** Softmax temperature of the distillation loss (where the progressive preset's anneal starts); > 0. */
    public TrainingParams setTemperature(double temperature) {
        this.temperature = temperature;
        return this;
    }

    /** Weight of the soft (teacher) loss, in [0, 1]: {@code alpha*soft + (1-alpha)*hard}; 0 = no distillation. */
    public TrainingParams setAlpha(double alpha) {
        this.alpha = alpha;
        return this;
    }

    /** Random seed, for reproducible runs. */
    public TrainingParams setSeed(long seed) {
        this.seed = seed;
        return this;
    }

    /**
     * Name of a schedule preset: {@code "progressive"} (the server's default: warm-up, annealed
     * distillation, fine-tuning), {@code "constant"} (this object's temperature and alpha), or
     * {@code "auto"}: a search (Optuna) over the presets' shape, temperature and alpha on the
     * validation split that ships the best trial's student; a temperature or alpha set here is
     * held fixed and the rest searched (see {@link #setSearchTrials}).
     */
    public TrainingParams setSchedule(String schedule) {
        this.schedule = schedule;
        this.scheduleStages = null;
        return this;
    }

    /** A schedule: {@link Schedule#progressive()}, {@link Schedule#constant}, {@link Schedule#custom}. */
    public TrainingParams setSchedule(Schedule schedule) {
        this.scheduleStages = schedule;
        this.schedule = schedule == null ? null : schedule.name();
        return this;
    }

    /** Training processes (data-parallel workers); > 0. */
    public TrainingParams setWorkers(int workers) {
        this.workers = workers;
        return this;
    }

    /**
     * Trainings the {@code "auto"} schedule's search runs (1-200; the server's default is 10),
     * each costing about one training of the student. Refused with any other schedule.
     */
    public TrainingParams setSearchTrials(int searchTrials) {
        this.searchTrials = searchTrials;
        return this;
    }

    /**
     * Shifted copies (up to 1/14 of the shorter side, at least 1 px; edge pixels repeated) of
     * every training image to add to the training split, labelled by the teacher's outputs like
     * the originals; 0-16, 0 = none (the server's default). For image datasets with a teacher:
     * refused ({@code INVALID_ARGUMENT} naming {@code training.augment_copies}) for tabular or
     * text data and for self-distillation. More rows per epoch: with few labelled images, fewer
     * epochs buy the same steps.
     */
    public TrainingParams setAugmentCopies(int augmentCopies) {
        this.augmentCopies = augmentCopies;
        return this;
    }

    /**
     * Weight of the hidden-state loss (MSE between mapped student and teacher layers, through a
     * learned projection when widths differ), for Transformer teacher and student; finite and
     * >= 0, 0 turns it off.
     */
    public TrainingParams setHiddenWeight(double hiddenWeight) {
        this.hiddenWeight = hiddenWeight;
        return this;
    }

    /**
     * Weight of the attention loss (KL between mapped layers' attention distributions, heads
     * averaged when head counts differ), for Transformer pairs; finite and >= 0, 0 turns it off.
     */
    public TrainingParams setAttentionWeight(double attentionWeight) {
        this.attentionWeight = attentionWeight;
        return this;
    }

    /**
     * The teacher layer (1-based, ascending) each student layer learns from, e.g.
     * {@code setLayerMap(3, 6)} for a 2-layer student of a 6-layer teacher; none = a uniform mapping.
     */
    public TrainingParams setLayerMap(int... teacherLayers) {
        this.layerMap = teacherLayers == null ? new int[0] : teacherLayers.clone();
        return this;
    }

    /** Passes over the training set, when set. */
    public OptionalInt epochs() {
        return optional(epochs);
    }

    /** Samples per step, when set. */
    public OptionalInt batchSize() {
        return optional(batchSize);
    }

    /** The learning rate, when set. */
    public OptionalDouble learningRate() {
        return optional(learningRate);
    }

    /** The distillation temperature, when set. */
    public OptionalDouble temperature() {
        return optional(temperature);
    }

    /** The soft-loss weight, when set. */
    public OptionalDouble alpha() {
        return optional(alpha);
    }

    /** The random seed, when set. */
    public OptionalLong seed() {
        return seed == null ? OptionalLong.empty() : OptionalLong.of(seed);
    }

    /** The schedule preset, when set. */
    public Optional<String> schedule() {
        return Optional.ofNullable(schedule).filter(s -> !s.isEmpty());
    }

    /**
     * The {@link Schedule} given to {@link #setSchedule(Schedule)}, when one was ({@link #schedule()}
     * then returns its name).
     */
    public Optional<Schedule> customSchedule() {
        return Optional.ofNullable(scheduleStages);
    }

    /** The number of training processes, when set. */
    public OptionalInt workers() {
        return optional(workers);
    }

    /** The number of trials of the {@code "auto"} schedule's search, when set. */
    public OptionalInt searchTrials() {
        return optional(searchTrials);
    }

    /** Shifted copies of each training image, when set. */
    public OptionalInt augmentCopies() {
        return optional(augmentCopies);
    }

    /** The hidden-state loss weight, when set. */
    public OptionalDouble hiddenWeight() {
        return optional(hiddenWeight);
    }

    /** The attention loss weight, when set. */
    public OptionalDouble attentionWeight() {
        return optional(attentionWeight);
    }

    /** A copy of the layer mapping; empty = uniform. */
    public int[] layerMap() {
        return layerMap.clone();
    }

    @Override
    public String toString() {
        return "TrainingParams{epochs=" + epochs + ", batchSize=" + batchSize + ", learningRate=" + learningRate
                + ", temperature=" + temperature + ", alpha=" + alpha + ", seed=" + seed
                + ", schedule=" + schedule + ", workers=" + workers + ", searchTrials=" + searchTrials
                + ", augmentCopies=" + augmentCopies
                + ", hiddenWeight=" + hiddenWeight
                + ", attentionWeight=" + attentionWeight + ", layerMap=" + Arrays.toString(layerMap) + "}";
    }

    private static OptionalInt optional(Integer value) {
        return value == null ? OptionalInt.empty() : OptionalInt.of(value);
    }

    private static OptionalDouble optional(Double value) {
        return value == null ? OptionalDouble.empty() : OptionalDouble.of(value);
    }
}
