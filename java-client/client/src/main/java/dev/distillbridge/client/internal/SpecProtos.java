package dev.distillbridge.client.internal;

import dev.distillbridge.proto.v1.CnnConfig;
import dev.distillbridge.proto.v1.DatasetRef;
import dev.distillbridge.proto.v1.Gates;
import dev.distillbridge.proto.v1.MlpConfig;
import dev.distillbridge.proto.v1.QuantType;
import dev.distillbridge.proto.v1.ScheduleStage;
import dev.distillbridge.proto.v1.SelfDistillation;
import dev.distillbridge.proto.v1.StudentConfig;
import dev.distillbridge.proto.v1.TeacherPreparation;
import dev.distillbridge.proto.v1.TrainingParams;
import dev.distillbridge.proto.v1.TransformerConfig;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.Schedule;
import java.util.Arrays;
import java.util.OptionalDouble;

/**
 * The one place where the public job description ({@code dev.distillbridge.spec}) becomes the
 * wire's ({@code dev.distillbridge.proto.v1}), checking every value on the way: each problem is
 * added to a {@link Problems}, naming the proto field ({@code training.epochs}), so a caller
 * hears about all of them at once. The spec classes themselves know nothing of the wire.
 */
public final class SpecProtos {
    /** The server's bound on {@code training.augment_copies} (bridge.spec.MAX_AUGMENT_COPIES). */
    static final int MAX_AUGMENT_COPIES = 16;

    private SpecProtos() {
    }

    /** The student oneof: MLP, CNN or Transformer. */
    public static StudentConfig student(dev.distillbridge.spec.StudentConfig config, Problems problems) {
        StudentConfig.Builder builder = StudentConfig.newBuilder();
        if (config instanceof dev.distillbridge.spec.MlpConfig mlp) {
            builder.setMlp(mlp(mlp, problems));
        } else if (config instanceof dev.distillbridge.spec.CnnConfig cnn) {
            builder.setCnn(cnn(cnn, problems));
        } else if (config instanceof dev.distillbridge.spec.TransformerConfig transformer) {
            builder.setTransformer(transformer(transformer, problems));
        }
        return builder.build();
    }

    static MlpConfig mlp(dev.distillbridge.spec.MlpConfig config, Problems problems) {
        int[] hiddenSizes = config.hiddenSizes();
        problems.requireLayers("student.mlp.hidden_sizes", hiddenSizes, "hidden size");
        MlpConfig.Builder builder = MlpConfig.newBuilder();
        Arrays.stream(hiddenSizes).forEach(builder::addHiddenSizes);
        return builder.build();
    }

    static CnnConfig cnn(dev.distillbridge.spec.CnnConfig config, Problems problems) {
        int kernelSize = config.kernelSize();
        problems.requireLayers("student.cnn.channels", config.channels(), "channel count");
        if (kernelSize < 0 || (kernelSize > 0 && kernelSize % 2 == 0)) {
            problems.add("student.cnn.kernel_size", "must be odd and > 0 (or 0 for the default), got " + kernelSize);
        }
        CnnConfig.Builder builder = CnnConfig.newBuilder().setKernelSize(kernelSize);
        Arrays.stream(config.channels()).forEach(builder::addChannels);
        return builder.build();
    }

    static TransformerConfig transformer(dev.distillbridge.spec.TransformerConfig c, Problems problems) {
        problems.requirePositive("student.transformer.layers", c.layers());
        problems.requirePositive("student.transformer.hidden_size", c.hiddenSize());
        problems.requirePositive("student.transformer.heads", c.heads());
        problems.requirePositive("student.transformer.intermediate_size", c.intermediateSize());
        problems.requirePositive("student.transformer.max_seq_len", c.maxSeqLen());
        if (c.hiddenSize() > 0 && c.heads() > 0 && c.hiddenSize() % c.heads() != 0) {
            problems.add("student.transformer.heads",
                    "hidden_size " + c.hiddenSize() + " is not divisible by heads " + c.heads());
        }
        return TransformerConfig.newBuilder()
                .setLayers(c.layers())
                .setHiddenSize(c.hiddenSize())
                .setHeads(c.heads())
                .setIntermediateSize(c.intermediateSize())
                .setMaxSeqLen(c.maxSeqLen())
                .setInitFromTeacher(c.initFromTeacher())
                .setPruneVocabulary(c.pruneVocabulary())
                .build();
    }

    /** Training hyper-parameters; unset fields stay unset (the server's defaults). */
    public static TrainingParams training(dev.distillbridge.spec.TrainingParams p, Problems problems) {
        problems.requirePositive("training.epochs", p.epochs());
        problems.requirePositive("training.batch_size", p.batchSize());
        problems.requireFinitePositive("training.learning_rate", p.learningRate());
        problems.requireFinitePositive("training.temperature", p.temperature());
        problems.requirePositive("training.workers", p.workers());
        problems.requirePositive("training.search_trials", p.searchTrials());
        p.augmentCopies().ifPresent(copies -> {
            if (copies < 0 || copies > MAX_AUGMENT_COPIES) {
                problems.add("training.augment_copies", "must be in 0.." + MAX_AUGMENT_COPIES + ", got " + copies);
            }
        });
        p.alpha().ifPresent(alpha -> {
            if (!(alpha >= 0 && alpha <= 1)) {
                problems.add("training.alpha", "must be in [0, 1], got " + alpha);
            }
        });
        problems.requireFiniteNonNegative("training.hidden_weight", p.hiddenWeight());
        problems.requireFiniteNonNegative("training.attention_weight", p.attentionWeight());
        int[] layerMap = p.layerMap();
        int[] sorted = layerMap.clone();
        Arrays.sort(sorted);
        if (Arrays.stream(layerMap).anyMatch(l -> l < 1) || !Arrays.equals(layerMap, sorted)) {
            problems.add("training.layer_map", "teacher layers must be >= 1 and ascending, got "
                    + Arrays.toString(layerMap));
        }
        TrainingParams.Builder builder = TrainingParams.newBuilder();
        p.epochs().ifPresent(builder::setEpochs);
        p.batchSize().ifPresent(builder::setBatchSize);
        p.learningRate().ifPresent(builder::setLearningRate);
        p.temperature().ifPresent(builder::setTemperature);
        p.alpha().ifPresent(builder::setAlpha);
        p.seed().ifPresent(builder::setSeed);
        if (p.customSchedule().isPresent()) {
            schedule(p.customSchedule().get(), builder, problems);
        } else {
            p.schedule().ifPresent(builder::setSchedule);
        }
        p.workers().ifPresent(builder::setWorkers);
        p.searchTrials().ifPresent(builder::setSearchTrials);
        p.augmentCopies().ifPresent(builder::setAugmentCopies);
        p.hiddenWeight().ifPresent(builder::setHiddenWeight);
        p.attentionWeight().ifPresent(builder::setAttentionWeight);
        Arrays.stream(layerMap).forEach(builder::addLayerMap);
        return builder.build();
    }

    private static void schedule(Schedule schedule, TrainingParams.Builder builder, Problems problems) {
        builder.setSchedule(schedule.name());
        if (schedule.name().equals("custom") && schedule.stages().isEmpty()) {
            problems.add("training.schedule.stages", "a schedule needs at least one stage");
        }
        double total = 0;
        for (int i = 0; i < schedule.stages().size(); i++) {
            dev.distillbridge.spec.ScheduleStage stage = schedule.stages().get(i);
            builder.addScheduleStages(stage(stage, "training.schedule.stages[" + i + "]", problems));
            total += stage.fraction();
        }
        if (!schedule.stages().isEmpty() && Math.abs(total - 1.0) > 1e-6) {
            problems.add("training.schedule.stages", "fractions must sum to 1, got " + total);
        }
    }

    private static ScheduleStage stage(dev.distillbridge.spec.ScheduleStage s, String field, Problems problems) {
        if (s.name() == null || s.name().isBlank()) {
            problems.add(field + ".name", "must not be empty");
        }
        if (!(s.fraction() > 0 && s.fraction() <= 1)) {
            problems.add(field + ".fraction", "must be in (0, 1], got " + s.fraction());
        }
        problems.requireFinitePositive(field + ".temperature_start", OptionalDouble.of(s.temperatureStart()));
        problems.requireFinitePositive(field + ".temperature_end", OptionalDouble.of(s.temperatureEnd()));
        for (double a : new double[] {s.alphaStart(), s.alphaEnd()}) {
            if (!(a >= 0 && a <= 1)) {
                problems.add(field + ".alpha", "must be in [0, 1], got " + a);
            }
        }
        problems.requireFinitePositive(field + ".lr_scale", OptionalDouble.of(s.learningRateScale()));
        return ScheduleStage.newBuilder()
                .setName(s.name() == null ? "" : s.name())
                .setFraction(s.fraction())
                .setTemperatureStart(s.temperatureStart())
                .setTemperatureEnd(s.temperatureEnd())
                .setAlphaStart(s.alphaStart())
                .setAlphaEnd(s.alphaEnd())
                .setAnneal(s.anneal())
                .setLrScale(s.learningRateScale())
                .build();
    }

    /** The server-side gates. */
    public static Gates gates(dev.distillbridge.spec.Gates gates, Problems problems) {
        gates.maxParityError().ifPresent(v -> {
            if (!(v > 0 && v <= 1)) {
                problems.add("gates.max_parity_error", "must be in (0, 1], got " + v);
            }
        });
        requireIn(problems, "gates.max_int8_accuracy_drop", gates.maxInt8AccuracyDrop(), 1);
        requireIn(problems, "gates.min_retention", gates.minRetention(), 2);
        Gates.Builder builder = Gates.newBuilder().setFp32Fallback(gates.fp32Fallback());
        gates.maxParityError().ifPresent(builder::setMaxParityError);
        gates.maxInt8AccuracyDrop().ifPresent(builder::setMaxInt8AccuracyDrop);
        gates.minRetention().ifPresent(builder::setMinRetention);
        return builder.build();
    }

    private static void requireIn(Problems problems, String field, OptionalDouble value, double max) {
        value.ifPresent(v -> {
            if (!(v >= 0 && v <= max)) {
                problems.add(field, "must be in [0, " + max + "], got " + v);
            }
        });
    }

    /** How the server prepares a teacher without a head. */
    public static TeacherPreparation preparation(dev.distillbridge.spec.TeacherPreparation p, Problems problems) {
        problems.requirePositive("teacher.preparation.epochs", p.epochs());
        problems.requireFinitePositive("teacher.preparation.learning_rate", p.learningRate());
        TeacherPreparation.Builder builder = TeacherPreparation.newBuilder();
        p.fineTuneEncoder().ifPresent(builder::setFineTuneEncoder);
        p.epochs().ifPresent(builder::setEpochs);
        p.learningRate().ifPresent(builder::setLearningRate);
        return builder.build();
    }

    /** Self-distillation settings. */
    public static SelfDistillation selfDistillation(dev.distillbridge.spec.SelfDistillation s, Problems problems) {
        s.shipExit().ifPresent(exit -> {
            if (exit < 0) {
                problems.add("self_distillation.ship_exit", "must be >= 0, got " + exit);
            }
        });
        problems.requireFiniteNonNegative("self_distillation.feature_weight", s.featureWeight());
        SelfDistillation.Builder builder = SelfDistillation.newBuilder();
        s.shipExit().ifPresent(builder::setShipExit);
        s.featureWeight().ifPresent(builder::setFeatureWeight);
        s.tokenizer().filter(t -> !t.isBlank()).ifPresent(builder::setTokenizer);
        return builder.build();
    }

    /** The dataset reference; a local file gets its upload id when the job is submitted. */
    public static DatasetRef dataset(Dataset dataset) {
        DatasetRef.Builder builder = DatasetRef.newBuilder();
        if (dataset.builtinName().isPresent()) {
            builder.setBuiltin(dataset.builtinName().get());
        } else if (dataset.serverPath().isPresent()) {
            builder.setPath(dataset.serverPath().get());
        } else {
            dataset.uploadId().ifPresent(builder::setUploadId);
        }
        dataset.labelColumn().ifPresent(builder::setLabelColumn);
        dataset.textColumn().ifPresent(builder::setTextColumn);
        dataset.validationPath().ifPresent(builder::setValidationPath);
        dataset.testPath().ifPresent(builder::setTestPath);
        dataset.validationFraction().ifPresent(builder::setValidationFraction);
        dataset.testFraction().ifPresent(builder::setTestFraction);
        dataset.splitColumn().ifPresent(builder::setSplitColumn);
        return builder.build();
    }

    /** INT8 or none. */
    public static QuantType quantization(dev.distillbridge.spec.QuantType type) {
        return type == dev.distillbridge.spec.QuantType.INT8 ? QuantType.QUANT_TYPE_INT8 : QuantType.QUANT_TYPE_NONE;
    }
}
