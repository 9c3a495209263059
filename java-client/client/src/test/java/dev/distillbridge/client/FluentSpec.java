package dev.distillbridge.client;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import dev.distillbridge.proto.v1.DatasetRef;
import dev.distillbridge.proto.v1.DistillSpec;
import dev.distillbridge.proto.v1.TeacherRef;
import dev.distillbridge.spec.CnnConfig;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.Gates;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.QuantType;
import dev.distillbridge.spec.Schedule;
import dev.distillbridge.spec.ScheduleStage;
import dev.distillbridge.spec.SelfDistillation;
import dev.distillbridge.spec.StudentConfig;
import dev.distillbridge.spec.Teacher;
import dev.distillbridge.spec.TeacherPreparation;
import dev.distillbridge.spec.TrainingParams;
import dev.distillbridge.spec.TransformerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Describes a proto {@link DistillSpec} again through the public fluent API, as a Java user
 * would write it: {@code newDistiller().setTeacherModel(...).setStudentConfig(...)...} plus the
 * {@link Dataset} and {@link TrainingParams} given to {@code distill}/{@code validate}. Every
 * field of the proto is mapped ({@link #MAPPED} lists them; a test walks the descriptor and
 * fails on a field missing there); a value the fluent API cannot express fails with
 * {@link Unexpressible} naming the field.
 */
final class FluentSpec {
    /**
     * Every DistillSpec field (full proto name) {@link #describe} maps. A field added to the
     * proto must be mapped below and listed here, or {@code SpecConformanceTest} fails.
     */
    static final Set<String> MAPPED = Set.of(
            "distillbridge.v1.DistillSpec.teacher",
            "distillbridge.v1.TeacherRef.reference",
            "distillbridge.v1.TeacherRef.upload_id",
            "distillbridge.v1.TeacherRef.preparation",
            "distillbridge.v1.TeacherRef.output",
            "distillbridge.v1.TeacherPreparation.fine_tune_encoder",
            "distillbridge.v1.TeacherPreparation.epochs",
            "distillbridge.v1.TeacherPreparation.learning_rate",
            "distillbridge.v1.DistillSpec.student",
            "distillbridge.v1.StudentConfig.mlp",
            "distillbridge.v1.MlpConfig.hidden_sizes",
            "distillbridge.v1.StudentConfig.cnn",
            "distillbridge.v1.CnnConfig.channels",
            "distillbridge.v1.CnnConfig.kernel_size",
            "distillbridge.v1.StudentConfig.transformer",
            "distillbridge.v1.TransformerConfig.layers",
            "distillbridge.v1.TransformerConfig.hidden_size",
            "distillbridge.v1.TransformerConfig.heads",
            "distillbridge.v1.TransformerConfig.intermediate_size",
            "distillbridge.v1.TransformerConfig.max_seq_len",
            "distillbridge.v1.TransformerConfig.init_from_teacher",
            "distillbridge.v1.TransformerConfig.prune_vocabulary",
            "distillbridge.v1.DistillSpec.quantization",
            "distillbridge.v1.DistillSpec.dataset",
            "distillbridge.v1.DatasetRef.builtin",
            "distillbridge.v1.DatasetRef.path",
            "distillbridge.v1.DatasetRef.upload_id",
            "distillbridge.v1.DatasetRef.label_column",
            "distillbridge.v1.DatasetRef.text_column",
            "distillbridge.v1.DatasetRef.validation_path",
            "distillbridge.v1.DatasetRef.test_path",
            "distillbridge.v1.DatasetRef.validation_fraction",
            "distillbridge.v1.DatasetRef.test_fraction",
            "distillbridge.v1.DatasetRef.split_column",
            "distillbridge.v1.DistillSpec.training",
            "distillbridge.v1.TrainingParams.epochs",
            "distillbridge.v1.TrainingParams.batch_size",
            "distillbridge.v1.TrainingParams.learning_rate",
            "distillbridge.v1.TrainingParams.temperature",
            "distillbridge.v1.TrainingParams.alpha",
            "distillbridge.v1.TrainingParams.seed",
            "distillbridge.v1.TrainingParams.schedule",
            "distillbridge.v1.TrainingParams.workers",
            "distillbridge.v1.TrainingParams.search_trials",
            "distillbridge.v1.TrainingParams.augment_copies",
            "distillbridge.v1.TrainingParams.hidden_weight",
            "distillbridge.v1.TrainingParams.attention_weight",
            "distillbridge.v1.TrainingParams.layer_map",
            "distillbridge.v1.TrainingParams.schedule_stages",
            "distillbridge.v1.ScheduleStage.name",
            "distillbridge.v1.ScheduleStage.fraction",
            "distillbridge.v1.ScheduleStage.temperature_start",
            "distillbridge.v1.ScheduleStage.temperature_end",
            "distillbridge.v1.ScheduleStage.alpha_start",
            "distillbridge.v1.ScheduleStage.alpha_end",
            "distillbridge.v1.ScheduleStage.anneal",
            "distillbridge.v1.ScheduleStage.lr_scale",
            "distillbridge.v1.DistillSpec.gates",
            "distillbridge.v1.Gates.max_parity_error",
            "distillbridge.v1.Gates.max_int8_accuracy_drop",
            "distillbridge.v1.Gates.min_retention",
            "distillbridge.v1.Gates.fp32_fallback",
            "distillbridge.v1.DistillSpec.name",
            "distillbridge.v1.DistillSpec.registered_model_name",
            "distillbridge.v1.DistillSpec.self_distillation",
            "distillbridge.v1.SelfDistillation.ship_exit",
            "distillbridge.v1.SelfDistillation.feature_weight",
            "distillbridge.v1.SelfDistillation.tokenizer");

    /** A value the fluent API has no way to say. */
    static final class Unexpressible extends AssertionError {
        private static final long serialVersionUID = 1L;

        Unexpressible(String field, Object value) {
            super("the Java fluent API cannot express " + field + " = " + value);
        }
    }

    /** What {@code distill(dataset, params)} / {@code validate(dataset, params)} take. */
    record Arguments(Dataset dataset, TrainingParams params) {
    }

    private FluentSpec() {}

    /**
     * Configures {@code distiller} as {@code spec} describes and returns the arguments for
     * {@code validate}/{@code distill}.
     *
     * @param localFiles upload ids that stand for local files: those become
     *     {@link Teacher#upload(Path)} / {@link Dataset#upload(Path)}; other ids become
     *     {@link Teacher#uploaded(String)} / {@link Dataset#uploaded(String)}
     */
    static Arguments describe(DistillSpec spec, Distiller distiller, Map<String, Path> localFiles) {
        distiller.setName(spec.getName());
        distiller.setRegisteredModelName(spec.getRegisteredModelName());
        switch (spec.getQuantization()) {
            case QUANT_TYPE_NONE -> distiller.enableQuantization(QuantType.NONE);
            case QUANT_TYPE_INT8 -> distiller.enableQuantization(QuantType.INT8);
            default -> throw new Unexpressible("quantization", spec.getQuantization());
        }
        if (spec.hasSelfDistillation()) { // before the teacher: it sets the teacher to "self"
            var proto = spec.getSelfDistillation();
            SelfDistillation self = new SelfDistillation();
            if (proto.hasShipExit()) {
                self.setShipExit(proto.getShipExit());
            }
            if (proto.hasFeatureWeight()) {
                self.setFeatureWeight(proto.getFeatureWeight());
            }
            if (proto.hasTokenizer()) {
                self.setTokenizer(proto.getTokenizer());
            }
            distiller.setSelfDistillation(self);
        }
        teacher(spec.getTeacher(), distiller, localFiles);
        if (spec.hasStudent()) {
            distiller.setStudentConfig(student(spec.getStudent()));
        }
        if (spec.hasGates()) {
            var proto = spec.getGates();
            Gates gates = new Gates().setFp32Fallback(proto.getFp32Fallback());
            if (proto.hasMaxParityError()) {
                gates.setMaxParityError(proto.getMaxParityError());
            }
            if (proto.hasMaxInt8AccuracyDrop()) {
                gates.setMaxInt8AccuracyDrop(proto.getMaxInt8AccuracyDrop());
            }
            if (proto.hasMinRetention()) {
                gates.setMinRetention(proto.getMinRetention());
            }
            distiller.setGates(gates);
        }
        return new Arguments(spec.hasDataset() ? dataset(spec.getDataset(), localFiles) : null,
                spec.hasTraining() ? training(spec.getTraining()) : null);
    }

    private static void teacher(TeacherRef ref, Distiller distiller, Map<String, Path> localFiles) {
        Teacher teacher = null;
        if (!ref.getUploadId().isEmpty()) {
            if (!ref.getReference().isEmpty()) {
                throw new Unexpressible("teacher (reference and upload_id both)", ref);
            }
            Path local = localFiles.get(ref.getUploadId());
            teacher = local != null ? Teacher.upload(local) : Teacher.uploaded(ref.getUploadId());
        } else if (!ref.getReference().isEmpty()) {
            teacher = Teacher.of(ref.getReference());
        }
        if (!ref.getOutput().isEmpty()) {
            if (teacher == null) {
                throw new Unexpressible("teacher.output (without a teacher)", ref.getOutput());
            }
            teacher = teacher.withOutput(ref.getOutput());
        }
        if (teacher != null) {
            distiller.setTeacherModel(teacher);
        }
        if (ref.hasPreparation()) {
            var proto = ref.getPreparation();
            TeacherPreparation preparation = new TeacherPreparation();
            if (proto.hasFineTuneEncoder()) {
                preparation.setFineTuneEncoder(proto.getFineTuneEncoder());
            }
            if (proto.hasEpochs()) {
                preparation.setEpochs(proto.getEpochs());
            }
            if (proto.hasLearningRate()) {
                preparation.setLearningRate(proto.getLearningRate());
            }
            distiller.setTeacherPreparation(preparation);
        }
    }

    private static StudentConfig student(dev.distillbridge.proto.v1.StudentConfig proto) {
        return switch (proto.getKindCase()) {
            case MLP -> new MlpConfig().setHiddenSizes(ints(proto.getMlp().getHiddenSizesList()));
            case CNN -> new CnnConfig().setChannels(ints(proto.getCnn().getChannelsList()))
                    .setKernelSize(proto.getCnn().getKernelSize());
            case TRANSFORMER -> {
                var t = proto.getTransformer();
                TransformerConfig config = new TransformerConfig().setLayers(t.getLayers())
                        .setHiddenSize(t.getHiddenSize()).setHeads(t.getHeads())
                        .setIntermediateSize(t.getIntermediateSize()).setMaxSeqLen(t.getMaxSeqLen())
                        .setInitFromTeacher(t.getInitFromTeacher());
                if (t.hasPruneVocabulary()) { // unset = the default (true)
                    config.setPruneVocabulary(t.getPruneVocabulary());
                }
                yield config;
            }
            case KIND_NOT_SET -> throw new Unexpressible("student", "a StudentConfig with no kind");
        };
    }

    private static Dataset dataset(DatasetRef ref, Map<String, Path> localFiles) {
        Dataset dataset = switch (ref.getSourceCase()) {
            case BUILTIN -> Dataset.builtin(ref.getBuiltin());
            case PATH -> Dataset.fromPath(ref.getPath());
            case UPLOAD_ID -> {
                Path local = localFiles.get(ref.getUploadId());
                yield local != null ? Dataset.upload(local) : Dataset.uploaded(ref.getUploadId());
            }
            case SOURCE_NOT_SET -> throw new Unexpressible("dataset.source", "a DatasetRef with no source");
        };
        if (!ref.getLabelColumn().isEmpty()) {
            dataset = dataset.withLabelColumn(ref.getLabelColumn());
        }
        if (!ref.getTextColumn().isEmpty()) {
            dataset = dataset.withTextColumn(ref.getTextColumn());
        }
        if (!ref.getValidationPath().isEmpty()) {
            dataset = dataset.withValidationPath(ref.getValidationPath());
        }
        if (!ref.getTestPath().isEmpty()) {
            dataset = dataset.withTestPath(ref.getTestPath());
        }
        if (ref.hasValidationFraction()) {
            dataset = dataset.withValidationFraction(ref.getValidationFraction());
        }
        if (ref.hasTestFraction()) {
            dataset = dataset.withTestFraction(ref.getTestFraction());
        }
        if (!ref.getSplitColumn().isEmpty()) {
            dataset = dataset.withSplitColumn(ref.getSplitColumn());
        }
        return dataset;
    }

    private static TrainingParams training(dev.distillbridge.proto.v1.TrainingParams proto) {
        TrainingParams params = new TrainingParams();
        if (proto.hasEpochs()) {
            params.setEpochs(proto.getEpochs());
        }
        if (proto.hasBatchSize()) {
            params.setBatchSize(proto.getBatchSize());
        }
        if (proto.hasLearningRate()) {
            params.setLearningRate(proto.getLearningRate());
        }
        if (proto.hasTemperature()) {
            params.setTemperature(proto.getTemperature());
        }
        if (proto.hasAlpha()) {
            params.setAlpha(proto.getAlpha());
        }
        if (proto.hasSeed()) {
            params.setSeed(proto.getSeed());
        }
        if (proto.hasWorkers()) {
            params.setWorkers(proto.getWorkers());
        }
        if (proto.hasSearchTrials()) {
            params.setSearchTrials(proto.getSearchTrials());
        }
        if (proto.hasAugmentCopies()) {
            params.setAugmentCopies(proto.getAugmentCopies());
        }
        if (proto.hasHiddenWeight()) {
            params.setHiddenWeight(proto.getHiddenWeight());
        }
        if (proto.hasAttentionWeight()) {
            params.setAttentionWeight(proto.getAttentionWeight());
        }
        if (proto.getLayerMapCount() > 0) {
            params.setLayerMap(ints(proto.getLayerMapList()));
        }
        if (proto.getScheduleStagesCount() > 0) {
            List<ScheduleStage> stages = new ArrayList<>();
            for (int i = 0; i < proto.getScheduleStagesCount(); i++) {
                stages.add(stage(proto.getScheduleStages(i), "training.schedule_stages[" + i + "]"));
            }
            params.setSchedule(Schedule.of(proto.getSchedule(), stages.toArray(ScheduleStage[]::new)));
        } else if (!proto.getSchedule().isEmpty()) {
            params.setSchedule(proto.getSchedule());
        }
        return params;
    }

    private static ScheduleStage stage(dev.distillbridge.proto.v1.ScheduleStage proto, String field) {
        ScheduleStage stage = ScheduleStage.of(proto.getName(), proto.getFraction())
                .temperature(proto.getTemperatureStart(), proto.getTemperatureEnd())
                .alpha(proto.getAlphaStart(), proto.getAlphaEnd());
        switch (proto.getAnneal()) {
            case "", "linear" -> { } // linear is the stage's default
            case "cosine" -> stage = stage.cosine();
            default -> throw new Unexpressible(field + ".anneal", proto.getAnneal());
        }
        if (proto.getLrScale() != 0) { // 0 = 1 on the wire; the fluent default is 1
            stage = stage.learningRateScale(proto.getLrScale());
        }
        return stage;
    }

    /**
     * {@code spec} with the values the wire defines as the same thing spelled the way the fluent
     * API spells them (a stage's anneal "" is "linear", its lr_scale 0 is 1).
     */
    static DistillSpec canonical(DistillSpec spec) {
        if (!spec.hasTraining() || spec.getTraining().getScheduleStagesCount() == 0) {
            return spec;
        }
        var training = spec.getTraining().toBuilder();
        for (var stage : training.getScheduleStagesBuilderList()) {
            if (stage.getAnneal().isEmpty()) {
                stage.setAnneal("linear");
            }
            if (stage.getLrScale() == 0) {
                stage.setLrScale(1.0);
            }
        }
        return spec.toBuilder().setTraining(training).build();
    }

    /** Every field reachable from {@code descriptor}, by full proto name. */
    static List<String> allFields(Descriptor descriptor) {
        List<String> out = new ArrayList<>();
        collect(descriptor, out, new java.util.HashSet<>());
        return out;
    }

    private static void collect(Descriptor descriptor, List<String> out, Set<String> seen) {
        if (!seen.add(descriptor.getFullName())) {
            return;
        }
        for (FieldDescriptor field : descriptor.getFields()) {
            out.add(field.getFullName());
            if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                collect(field.getMessageType(), out, seen);
            }
        }
    }

    private static int[] ints(List<Integer> values) {
        return values.stream().mapToInt(Integer::intValue).toArray();
    }
}
