package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.distillbridge.proto.v1.DistillSpec;
import dev.distillbridge.proto.v1.JobState;
import dev.distillbridge.spec.CnnConfig;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.Gates;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.QuantType;
import dev.distillbridge.spec.Schedule;
import dev.distillbridge.spec.ScheduleStage;
import dev.distillbridge.spec.SelfDistillation;
import dev.distillbridge.spec.Teacher;
import dev.distillbridge.spec.TeacherPreparation;
import dev.distillbridge.spec.TrainingParams;
import dev.distillbridge.spec.TransformerConfig;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DistillerTest {
    private FakeServer fake;

    @BeforeEach
    void start() {
        fake = new FakeServer();
        fake.service.withFile("model.onnx", "onnx-bytes");
        fake.service.scriptJob(JobState.JOB_STATE_SUCCEEDED, "",
                fake.service.result(Map.of("student_accuracy", 0.91, "teacher_accuracy", 0.93)));
    }

    @AfterEach
    void stop() {
        fake.close();
    }

    private Distiller validDistiller() {
        return fake.bridge.newDistiller()
                .setTeacherModel("german-credit-mlp")
                .setStudentConfig(new MlpConfig().setHiddenSizes(16));
    }

    @Test
    void distillSubmitsTheSpecAndReturnsTheResult() {
        DistillationResult result = validDistiller()
                .enableQuantization(QuantType.INT8)
                .setName("credit")
                .setGates(new Gates().setMinRetention(0.95).setFp32Fallback(true))
                .distill(Dataset.builtin("german-credit").withLabelColumn("creditability"),
                        new TrainingParams().setEpochs(30).setBatchSize(64).setSeed(42));

        assertEquals(FakeDistillerService.JOB_ID, result.jobId());
        assertEquals(Map.of("student_accuracy", 0.91, "teacher_accuracy", 0.93), result.metrics());
        assertEquals(List.of("student_accuracy", "teacher_accuracy"), List.copyOf(result.metrics().keySet()));
        assertEquals(0.91, result.metric("student_accuracy").orElseThrow());
        assertEquals("model.onnx", result.files().get(0).name());
        assertThrows(UnsupportedOperationException.class, () -> result.metrics().put("x", 1.0));

        DistillSpec spec = fake.service.submitted.get(0);
        assertEquals("german-credit-mlp", spec.getTeacher().getReference());
        assertEquals(List.of(16), spec.getStudent().getMlp().getHiddenSizesList());
        assertEquals(dev.distillbridge.proto.v1.QuantType.QUANT_TYPE_INT8, spec.getQuantization());
        assertEquals("german-credit", spec.getDataset().getBuiltin());
        assertEquals("creditability", spec.getDataset().getLabelColumn());
        assertEquals("credit", spec.getName());
        assertEquals(30, spec.getTraining().getEpochs());
        assertEquals(42L, spec.getTraining().getSeed());
        assertFalse(spec.getTraining().hasLearningRate(), "unset fields stay unset so the server applies defaults");
        assertFalse(spec.getTraining().hasAlpha());
        assertEquals(0.95, spec.getGates().getMinRetention());
        assertFalse(spec.getGates().hasMaxParityError());
        assertTrue(spec.getGates().getFp32Fallback());
    }

    @Test
    void unsetTrainingParamsAndGatesAreLeftOut() {
        validDistiller().distill(Dataset.fromPath("data/x.csv"), null);
        DistillSpec spec = fake.service.submitted.get(0);
        assertFalse(spec.hasTraining());
        assertFalse(spec.hasGates());
        assertEquals("data/x.csv", spec.getDataset().getPath());
        assertEquals(dev.distillbridge.proto.v1.QuantType.QUANT_TYPE_NONE, spec.getQuantization());
    }

    @Test
    void schedulesAndSelfDistillationReachTheSpec() {
        validDistiller().distill(Dataset.builtin("digits"), new TrainingParams().setSchedule(Schedule.progressive()));
        validDistiller().distill(Dataset.builtin("digits"), new TrainingParams().setSchedule(Schedule.constant(2, 0.3)));
        validDistiller().distill(Dataset.builtin("digits"), new TrainingParams().setSchedule(Schedule.custom(
                ScheduleStage.of("warmup", 0.25).hardLabelsOnly(),
                ScheduleStage.of("distill", 0.75).temperature(6, 1).alpha(0.9, 0.3).cosine()
                        .learningRateScale(0.5))).setWorkers(2));
        validDistiller().setStudentConfig(new MlpConfig().setHiddenSizes(32, 16))
                .setSelfDistillation(new SelfDistillation().setShipExit(1).setFeatureWeight(0.2))
                .distill(Dataset.builtin("digits"), null);

        var progressive = fake.service.submitted.get(0).getTraining();
        assertEquals("progressive", progressive.getSchedule());
        assertEquals(0, progressive.getScheduleStagesCount()); // the server spells out its preset
        var constant = fake.service.submitted.get(1).getTraining().getScheduleStages(0);
        assertEquals(2.0, constant.getTemperatureEnd());
        assertEquals(0.3, constant.getAlphaStart());
        var custom = fake.service.submitted.get(2).getTraining();
        assertEquals("custom", custom.getSchedule());
        assertEquals(2, custom.getWorkers());
        assertEquals(0.0, custom.getScheduleStages(0).getAlphaEnd());
        var distill = custom.getScheduleStages(1);
        assertEquals("cosine", distill.getAnneal());
        assertEquals(6.0, distill.getTemperatureStart());
        assertEquals(0.5, distill.getLrScale());
        DistillSpec self = fake.service.submitted.get(3);
        assertEquals("self", self.getTeacher().getReference());
        assertEquals(1, self.getSelfDistillation().getShipExit());
        assertEquals(0.2, self.getSelfDistillation().getFeatureWeight());
    }

    @Test
    void badSchedulesAreRefusedBeforeSubmitting() {
        Dataset data = Dataset.builtin("digits");
        assertInvalid(validDistiller(), data, new TrainingParams().setSchedule(Schedule.custom(
                ScheduleStage.of("a", 0.5), ScheduleStage.of("b", 0.4))), "fractions must sum to 1");
        assertInvalid(validDistiller(), data, new TrainingParams().setSchedule(Schedule.custom(
                ScheduleStage.of("a", 1.0).alpha(0, 2))), "training.schedule.stages[0].alpha");
        assertInvalid(validDistiller(), data, new TrainingParams().setSchedule(Schedule.custom()),
                "training.schedule.stages");
    }

    @Test
    void studentConfigsAreCopiedIntoTheSpec() {
        Distiller distiller = validDistiller();
        distiller.setStudentConfig(new TransformerConfig().setLayers(2).setHiddenSize(384).setHeads(6)
                .setIntermediateSize(1536).setMaxSeqLen(64).setInitFromTeacher(true).setPruneVocabulary(false))
                .distill(Dataset.builtin("airline-tweets"), null);
        distiller.setStudentConfig(new CnnConfig().setChannels(16, 32).setKernelSize(5))
                .distill(Dataset.builtin("fashion-mnist"), null);

        var transformer = fake.service.submitted.get(0).getStudent().getTransformer();
        assertEquals(2, transformer.getLayers());
        assertEquals(384, transformer.getHiddenSize());
        assertEquals(6, transformer.getHeads());
        assertEquals(1536, transformer.getIntermediateSize());
        assertEquals(64, transformer.getMaxSeqLen());
        assertTrue(transformer.getInitFromTeacher());
        assertTrue(transformer.hasPruneVocabulary(), "false is sent, not left unset (unset = true)");
        assertFalse(transformer.getPruneVocabulary());
        var cnn = fake.service.submitted.get(1).getStudent().getCnn();
        assertEquals(List.of(16, 32), cnn.getChannelsList());
        assertEquals(5, cnn.getKernelSize());
    }

    @Test
    void theTextPathReachesTheSpec() {
        validDistiller()
                .setTeacherModel("minilm-l6")
                .setTeacherPreparation(new TeacherPreparation().setFineTuneEncoder(true).setEpochs(2)
                        .setLearningRate(5e-5))
                .setStudentConfig(new TransformerConfig().setLayers(2).setHiddenSize(384).setInitFromTeacher(true))
                .distill(Dataset.builtin("airline-sentiment"), new TrainingParams().setHiddenWeight(0.5)
                        .setAttentionWeight(0).setLayerMap(1, 4));
        validDistiller().distill(Dataset.fromPath("data/tickets.jsonl").withTextColumn("text")
                .withLabelColumn("label"), new TrainingParams().setEpochs(1));

        DistillSpec spec = fake.service.submitted.get(0);
        assertEquals("minilm-l6", spec.getTeacher().getReference());
        var preparation = spec.getTeacher().getPreparation();
        assertTrue(preparation.getFineTuneEncoder());
        assertEquals(2, preparation.getEpochs());
        assertEquals(5e-5, preparation.getLearningRate());
        assertEquals("airline-sentiment", spec.getDataset().getBuiltin());
        assertEquals(0.5, spec.getTraining().getHiddenWeight());
        assertTrue(spec.getTraining().hasAttentionWeight(), "0 is sent: it turns the attention loss off");
        assertEquals(0.0, spec.getTraining().getAttentionWeight());
        assertEquals(List.of(1, 4), spec.getTraining().getLayerMapList());
        var transformer = spec.getStudent().getTransformer();
        assertEquals(List.of(2, 384, 12, 1536, 128), List.of(transformer.getLayers(), transformer.getHiddenSize(),
                transformer.getHeads(), transformer.getIntermediateSize(), transformer.getMaxSeqLen()),
                "unset fields take Python's TransformerConfig defaults");
        assertTrue(transformer.getInitFromTeacher());
        assertTrue(transformer.hasPruneVocabulary() && transformer.getPruneVocabulary(),
                "the vocabulary is pruned by default, and the default is sent explicitly");

        DistillSpec file = fake.service.submitted.get(1);
        assertEquals("data/tickets.jsonl", file.getDataset().getPath());
        assertEquals("text", file.getDataset().getTextColumn());
        assertEquals("label", file.getDataset().getLabelColumn());
        assertFalse(file.getTeacher().hasPreparation(), "no preparation set: the server's defaults apply");
        assertFalse(file.getTraining().hasHiddenWeight());
        assertFalse(file.getTraining().hasAttentionWeight());
        assertEquals(0, file.getTraining().getLayerMapCount());
    }

    @Test
    void aNamedTeacherOutputAndASplitColumnReachTheSpec(@TempDir Path dir) throws IOException {
        Teacher named = Teacher.of("models/logreg.onnx").withOutput("probabilities");
        validDistiller().setTeacherModel(named)
                .distill(Dataset.fromPath("data/rows.csv").withSplitColumn("split"), null);
        Path local = Files.write(dir.resolve("lgbm.onnx"), new byte[] {1, 2, 3});
        validDistiller().setTeacherModel(Teacher.upload(local).withOutput("output_probability"))
                .distill(Dataset.uploaded("upl-data").withSplitColumn("fold").withTestFraction(0.2), null);
        validDistiller().distill(Dataset.fromPath("data/rows.csv"), null);

        DistillSpec spec = fake.service.submitted.get(0);
        assertEquals("models/logreg.onnx", spec.getTeacher().getReference());
        assertEquals("probabilities", spec.getTeacher().getOutput());
        assertEquals("split", spec.getDataset().getSplitColumn());
        DistillSpec uploaded = fake.service.submitted.get(1);
        assertEquals("upl-1", uploaded.getTeacher().getUploadId(), "the upload keeps the named output");
        assertEquals("output_probability", uploaded.getTeacher().getOutput());
        assertEquals("fold", uploaded.getDataset().getSplitColumn());
        assertEquals(0.2, uploaded.getDataset().getTestFraction());
        DistillSpec plain = fake.service.submitted.get(2);
        assertEquals("", plain.getTeacher().getOutput(), "unset: the server chooses by type and shape");
        assertEquals("", plain.getDataset().getSplitColumn());
    }

    @Test
    void withOutputAndWithSplitColumnAreImmutableValues() {
        Teacher plain = Teacher.of("m.onnx");
        Teacher named = plain.withOutput("probabilities");
        assertTrue(plain.output().isEmpty(), "withOutput returns a copy");
        assertEquals("probabilities", named.output().orElseThrow());
        assertEquals("m.onnx", named.reference().orElseThrow());
        assertEquals(named, Teacher.of("m.onnx").withOutput("probabilities"));
        assertEquals(named.hashCode(), Teacher.of("m.onnx").withOutput("probabilities").hashCode());
        assertNotEquals(plain, named);
        assertEquals("Teacher{m.onnx, output=probabilities}", named.toString());
        assertThrows(IllegalArgumentException.class, () -> plain.withOutput(" "));
        assertThrows(NullPointerException.class, () -> plain.withOutput(null));

        Dataset file = Dataset.fromPath("d.csv");
        Dataset marked = file.withSplitColumn("split");
        assertTrue(file.splitColumn().isEmpty(), "withSplitColumn returns a copy");
        assertEquals("split", marked.splitColumn().orElseThrow());
        assertEquals(marked, Dataset.fromPath("d.csv").withSplitColumn("split"));
        assertNotEquals(file, marked);
        assertTrue(marked.toString().contains("splitColumn=split"), marked.toString());
        assertThrows(IllegalArgumentException.class, () -> file.withSplitColumn(""));
    }

    @Test
    void badTextPathValuesAreNamed() {
        Dataset data = Dataset.builtin("airline-sentiment");
        for (var bad : List.of(new TransformerConfig().setLayers(0), new TransformerConfig().setHiddenSize(-1),
                new TransformerConfig().setHeads(0), new TransformerConfig().setIntermediateSize(0),
                new TransformerConfig().setMaxSeqLen(0))) {
            assertInvalid(validDistiller().setStudentConfig(bad), data, null, "student.transformer.");
        }
        assertInvalid(validDistiller().setStudentConfig(new TransformerConfig().setHiddenSize(100).setHeads(12)),
                data, null, "student.transformer.heads: hidden_size 100 is not divisible by heads 12");
        assertInvalid(validDistiller(), data, new TrainingParams().setHiddenWeight(-1), "training.hidden_weight");
        assertInvalid(validDistiller(), data, new TrainingParams().setAttentionWeight(Double.NaN),
                "training.attention_weight");
        assertInvalid(validDistiller(), data, new TrainingParams().setLayerMap(0, 3), "training.layer_map");
        assertInvalid(validDistiller(), data, new TrainingParams().setLayerMap(4, 2), "training.layer_map");
        assertInvalid(validDistiller().setTeacherPreparation(new TeacherPreparation().setEpochs(0)), data, null,
                "teacher.preparation.epochs");
        assertInvalid(validDistiller().setTeacherPreparation(new TeacherPreparation().setLearningRate(-1e-5)), data,
                null, "teacher.preparation.learning_rate");
        assertTrue(fake.service.submitted.isEmpty());
    }

    @Test
    void listenersReceiveEveryEventInOrder() {
        List<DistillEvent> events = new ArrayList<>();
        validDistiller().onEvent(events::add).distill(Dataset.builtin("german-credit"), null);

        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), events.stream().map(DistillEvent::sequence).toList());
        assertEquals(List.of(DistillEvent.Kind.STAGE, DistillEvent.Kind.PROGRESS, DistillEvent.Kind.VALIDATION,
                DistillEvent.Kind.LOG, DistillEvent.Kind.FINISHED), events.stream().map(DistillEvent::kind).toList());
        assertEquals("train", events.get(0).stage());
        assertEquals(0.3, events.get(1).softLoss());
        assertEquals(0.9, events.get(2).accuracy());
        assertTrue(events.get(2).best());
        assertEquals("exporting", events.get(3).message());
        assertEquals(dev.distillbridge.client.JobState.SUCCEEDED, events.get(4).state());
        events.forEach(e -> assertFalse(e.summary().isEmpty()));
    }

    @Test
    void aThrowingListenerDoesNotStopTheJob() {
        Logger watcherLog = Logger.getLogger(JobEvents.class.getName());
        Level level = watcherLog.getLevel();
        watcherLog.setLevel(Level.OFF); // the expected warnings would only clutter the test output
        try {
            List<DistillEvent> seen = new ArrayList<>();
            DistillationResult result = validDistiller()
                    .onEvent(e -> {
                        throw new IllegalStateException("listener bug");
                    })
                    .onEvent(seen::add)
                    .distill(Dataset.builtin("german-credit"), null);
            assertEquals(FakeDistillerService.JOB_ID, result.jobId());
            assertEquals(5, seen.size());
        } finally {
            watcherLog.setLevel(level);
        }
    }

    @Test
    void aBrokenWatchStreamResumesFromTheNextSequence() {
        fake.service.breakWatchAfter = 2;
        List<DistillEvent> events = new ArrayList<>();
        validDistiller().onEvent(events::add).distill(Dataset.builtin("german-credit"), null);

        assertEquals(List.of(0L, 2L), fake.service.watchRequests.stream()
                .map(dev.distillbridge.proto.v1.WatchJobRequest::getFromSequence).toList());
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), events.stream().map(DistillEvent::sequence).toList());
    }

    @Test
    void aFailedJobRaisesAbortedWithTheJobsError() {
        fake.service.scriptJob(JobState.JOB_STATE_FAILED, "gate failed: int8 accuracy drop 3.1 > 1.0", null);
        DistillException e = assertThrows(DistillException.class,
                () -> validDistiller().distill(Dataset.builtin("german-credit"), null));
        assertEquals(Status.Code.ABORTED, e.getStatusCode());
        assertEquals("gate failed: int8 accuracy drop 3.1 > 1.0", e.getStatus().getDescription());
        assertEquals(FakeDistillerService.JOB_ID, e.getJobId().orElseThrow());
        assertTrue(e.getMessage().contains("int8 accuracy drop"), e.getMessage());
    }

    @Test
    void aCancelledJobRaisesCancelled() {
        fake.service.scriptJob(JobState.JOB_STATE_CANCELLED, "", null);
        DistillException e = assertThrows(DistillException.class,
                () -> validDistiller().distill(Dataset.builtin("german-credit"), null));
        assertEquals(Status.Code.CANCELLED, e.getStatusCode());
    }

    @Test
    void serverErrorsKeepTheirCodeAndMessage() {
        fake.service.submitError = Status.INVALID_ARGUMENT.withDescription("student.mlp.hidden_sizes: too wide");
        DistillException e = assertThrows(DistillException.class,
                () -> validDistiller().distill(Dataset.builtin("german-credit"), null));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatusCode());
        assertEquals("student.mlp.hidden_sizes: too wide", e.getStatus().getDescription());
        assertInstanceOf(io.grpc.StatusRuntimeException.class, e.getCause());

        DistillException notFound = assertThrows(DistillException.class, () -> fake.bridge.getJob("nope"));
        assertEquals(Status.Code.NOT_FOUND, notFound.getStatusCode());
        assertEquals("nope", notFound.getJobId().orElseThrow());
    }

    @Test
    void missingPartsAreNamed() {
        assertInvalid(fake.bridge.newDistiller().setStudentConfig(new MlpConfig().setHiddenSizes(8)),
                Dataset.builtin("digits"), null, "teacher: setTeacherModel(...) was not called");
        assertInvalid(fake.bridge.newDistiller().setTeacherModel("digits-mlp"),
                Dataset.builtin("digits"), null, "student: setStudentConfig(...) was not called");
        assertInvalid(validDistiller(), null, null, "dataset: must not be null");
    }

    @Test
    void badValuesAreNamedAndNothingIsSubmitted() {
        Dataset data = Dataset.builtin("digits");
        assertInvalid(validDistiller().setStudentConfig(new MlpConfig()), data, null, "student.mlp.hidden_sizes");
        assertInvalid(validDistiller().setStudentConfig(new MlpConfig().setHiddenSizes(8, 0)), data, null,
                "student.mlp.hidden_sizes");
        assertInvalid(validDistiller().setStudentConfig(new CnnConfig().setChannels(8).setKernelSize(4)), data,
                null, "student.cnn.kernel_size");
        assertInvalid(validDistiller().setStudentConfig(new TransformerConfig().setHiddenSize(384).setHeads(5)),
                data, null, "student.transformer.heads");
        assertInvalid(validDistiller(), data, new TrainingParams().setEpochs(0), "training.epochs");
        assertInvalid(validDistiller(), data, new TrainingParams().setBatchSize(-1), "training.batch_size");
        assertInvalid(validDistiller(), data, new TrainingParams().setWorkers(0), "training.workers");
        assertInvalid(validDistiller(), data, new TrainingParams().setSchedule("auto").setSearchTrials(0),
                "training.search_trials");
        assertInvalid(validDistiller(), data, new TrainingParams().setAugmentCopies(-1), "training.augment_copies");
        assertInvalid(validDistiller(), data, new TrainingParams().setAugmentCopies(17), "training.augment_copies");
        assertInvalid(validDistiller(), data, new TrainingParams().setLearningRate(Double.NaN),
                "training.learning_rate");
        assertInvalid(validDistiller(), data, new TrainingParams().setTemperature(0), "training.temperature");
        assertInvalid(validDistiller(), data, new TrainingParams().setAlpha(1.5), "training.alpha");
        assertInvalid(validDistiller().setGates(new Gates().setMinRetention(2.5)), data, null, "gates.min_retention");
        assertInvalid(validDistiller().setGates(new Gates().setMaxInt8AccuracyDrop(1.5)), data, null,
                "gates.max_int8_accuracy_drop");
        assertInvalid(validDistiller().setGates(new Gates().setMaxParityError(0)), data, null,
                "gates.max_parity_error");
        assertTrue(fake.service.submitted.isEmpty());
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        DistillException e = assertThrows(DistillException.class, () -> fake.bridge.newDistiller()
                .distill(null, new TrainingParams().setEpochs(-3)));
        String message = e.getStatus().getDescription();
        for (String field : List.of("teacher", "student", "dataset", "training.epochs")) {
            assertTrue(message.contains(field + ":"), message);
        }
    }

    @Test
    void aTimeoutRaisesDeadlineExceeded() {
        fake.service.watchEnds = false;
        DistillException e = assertThrows(DistillException.class, () -> validDistiller()
                .setTimeout(Duration.ofMillis(200)).distill(Dataset.builtin("german-credit"), null));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatusCode());
        assertEquals(FakeDistillerService.JOB_ID, e.getJobId().orElseThrow());
    }

    @Test
    void catalogueAndJobCallsMapToValues() {
        TeacherInfo teacher = fake.bridge.listTeachers().get(0);
        assertEquals(new TeacherInfo("german-credit-mlp", "", "mlp", "german-credit", 1234, true), teacher);
        JobInfo job = fake.bridge.getJob(FakeDistillerService.JOB_ID);
        assertEquals(dev.distillbridge.client.JobState.RUNNING, job.state());
        assertEquals("train", job.stage());
        assertTrue(job.result().isEmpty());
        assertEquals(dev.distillbridge.client.JobState.CANCELLED,
                fake.bridge.cancelJob(FakeDistillerService.JOB_ID).state());
    }

    @Test
    void watchJobReattachesToASubmittedJob() {
        List<DistillEvent> events = new ArrayList<>();
        DistillationResult result = fake.bridge.watchJob(FakeDistillerService.JOB_ID, events::add);
        assertEquals(FakeDistillerService.JOB_ID, result.jobId());
        assertEquals(5, events.size());
    }

    // ------------------------------------------------------------ validate

    @Test
    void validateSendsValidateOnlyAndAnswersTheServersNormalizedSpecWithoutAJob() {
        DistillSpec normalized = DistillSpec.newBuilder().setName("normalized by the server")
                .setTraining(dev.distillbridge.proto.v1.TrainingParams.newBuilder().setEpochs(30).setBatchSize(64))
                .build();
        fake.service.normalized = normalized;
        TrainingParams params = new TrainingParams().setEpochs(30).setSeed(42);

        DistillSpec answer = validDistiller().enableQuantization(QuantType.INT8)
                .validate(Dataset.builtin("german-credit"), params);

        assertEquals(normalized, answer);
        assertEquals(1, fake.service.submitRequests.size());
        var request = fake.service.submitRequests.get(0);
        assertTrue(request.getValidateOnly());
        assertTrue(fake.service.submitted.isEmpty(), "validate queues nothing");
        assertTrue(fake.service.watchRequests.isEmpty(), "and watches nothing");

        // the request carries exactly the spec distill would submit
        validDistiller().enableQuantization(QuantType.INT8).distill(Dataset.builtin("german-credit"), params);
        assertEquals(fake.service.submitted.get(0), request.getSpec());
        assertFalse(fake.service.submitRequests.get(1).getValidateOnly());
    }

    @Test
    void validateRefusesBadFieldsLocallyBeforeSendingAnything() {
        DistillException e = assertThrows(DistillException.class, () -> validDistiller()
                .setGates(new Gates().setMinRetention(3))
                .validate(Dataset.builtin("digits"), new TrainingParams().setEpochs(0)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatusCode());
        assertTrue(e.getStatus().getDescription().contains("training.epochs: must be > 0, got 0"),
                e.getStatus().getDescription());
        assertTrue(e.getStatus().getDescription().contains("gates.min_retention"), e.getStatus().getDescription());
        DistillException missing = assertThrows(DistillException.class,
                () -> fake.bridge.newDistiller().validate(null, null));
        assertTrue(missing.getStatus().getDescription().contains("teacher:"), missing.getMessage());
        assertEquals(0, fake.service.submitAttempts.get());
    }

    @Test
    void validateCarriesTheServersStatus() {
        fake.service.submitError = Status.NOT_FOUND.withDescription("teacher.reference: unknown teacher 'nope'");
        DistillException e = assertThrows(DistillException.class,
                () -> validDistiller().validate(Dataset.builtin("digits"), null));
        assertEquals(Status.Code.NOT_FOUND, e.getStatusCode());
        assertEquals("teacher.reference: unknown teacher 'nope'", e.getStatus().getDescription());
        assertTrue(e.getJobId().isEmpty());
    }

    @Test
    void validateUploadsLocalFilesFirstAsDistillDoes(@TempDir Path dir) throws IOException {
        Path teacher = Files.write(dir.resolve("teacher.onnx"), new byte[] {1, 2, 3, 4});
        Path data = Files.writeString(dir.resolve("rows.csv"), "a,label\n1,0\n2,1\n");

        validDistiller().setTeacherModel(Teacher.upload(teacher))
                .validate(Dataset.upload(data).withLabelColumn("label"), null);

        assertEquals(List.of("teacher.onnx", "rows.csv"),
                fake.service.uploads.stream().map(u -> u.getFileName()).toList());
        var request = fake.service.submitRequests.get(0);
        assertTrue(request.getValidateOnly());
        assertEquals("upl-1", request.getSpec().getTeacher().getUploadId());
        assertEquals("", request.getSpec().getTeacher().getReference());
        assertEquals("upl-2", request.getSpec().getDataset().getUploadId());
        assertEquals("label", request.getSpec().getDataset().getLabelColumn());
        assertTrue(fake.service.submitted.isEmpty());
    }

    private static void assertInvalid(Distiller distiller, Dataset dataset, TrainingParams params, String text) {
        DistillException e = assertThrows(DistillException.class, () -> distiller.distill(dataset, params));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatusCode());
        assertTrue(e.getStatus().getDescription().contains(text), e.getStatus().getDescription());
        assertTrue(e.getJobId().isEmpty());
    }
}
