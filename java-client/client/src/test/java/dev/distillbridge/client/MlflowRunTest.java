package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.distillbridge.proto.v1.FinishedEvent;
import dev.distillbridge.proto.v1.Job;
import dev.distillbridge.proto.v1.JobEvent;
import dev.distillbridge.proto.v1.JobState;
import dev.distillbridge.proto.v1.LogEvent;
import dev.distillbridge.proto.v1.StageEvent;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.TrainingParams;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** MLFLOW_RUN events, {@link MlflowRun} on the job, its result and {@link JobInfo}, and setRegisteredModelName. */
class MlflowRunTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String URL = "http://mlflow:5000/#/experiments/1/runs/abc123";

    private static dev.distillbridge.proto.v1.MlflowRun.Builder run(String version) {
        return dev.distillbridge.proto.v1.MlflowRun.newBuilder().setRunId("abc123").setRunUrl(URL)
                .setExperimentId("1").setRegisteredModelName(version.isEmpty() ? "" : "digits-kd")
                .setModelVersion(version);
    }

    private static JobEvent mlflow(long sequence, String version) {
        return FakeDistillerService.event(sequence).setMlflowRun(run(version)).build();
    }

    @Test
    void convertsTheEventAndSummarizesIt() {
        DistillEvent created = DistillEvent.fromProto(mlflow(2, ""));
        assertEquals(DistillEvent.Kind.MLFLOW_RUN, created.kind());
        assertEquals(new MlflowRun("abc123", URL, "1", "", ""), created.mlflowRun());
        assertEquals(Optional.empty(), created.mlflowRun().version());
        assertEquals("MLflow run abc123 (" + URL + ")", created.summary());
        DistillEvent registered = DistillEvent.fromProto(mlflow(5, "3"));
        assertEquals(Optional.of("3"), registered.mlflowRun().version());
        assertEquals("digits-kd", registered.mlflowRun().registeredModelName());
        assertEquals("MLflow run abc123 (" + URL + "), registered as digits-kd version 3", registered.summary());
        assertEquals("", registered.message());
        assertNull(registered.phaseProgress());
        DistillEvent stage = DistillEvent.fromProto(FakeDistillerService.event(0)
                .setStage(StageEvent.newBuilder().setStage("train")).build());
        assertNull(stage.mlflowRun());
        assertEquals(new MlflowRun("", "", "", "", ""), new MlflowRun(null, null, null, null, null));
    }

    @Test
    void theJobAndItsResultCarryTheLatestRun() {
        try (FakeServer fake = new FakeServer()) {
            fake.service.withFile("model.onnx", "onnx-bytes");
            fake.service.events = List.of(
                    FakeDistillerService.event(0).setStage(StageEvent.newBuilder().setStage("load")).build(),
                    mlflow(1, ""),
                    FakeDistillerService.event(2).setLog(LogEvent.newBuilder().setLevel("INFO")
                            .setMessage("MLflow: 'champion' moves to version 3")).build(),
                    mlflow(3, "3"),
                    FakeDistillerService.event(4).setFinished(FinishedEvent.newBuilder()
                            .setState(JobState.JOB_STATE_SUCCEEDED)
                            .setResult(fake.service.result(Map.of("student_accuracy", 0.9)))).build());
            Distiller distiller = fake.bridge.newDistiller().setTeacherModel("digits-mlp")
                    .setStudentConfig(new MlpConfig().setHiddenSizes(16)).setRegisteredModelName("digits-kd");
            DistillationJob job = distiller.distillAsync(Dataset.builtin("digits"), new TrainingParams().setEpochs(2));
            DistillationResult result = job.await(WAIT);
            MlflowRun expected = new MlflowRun("abc123", URL, "1", "digits-kd", "3");
            assertEquals(Optional.of(expected), job.mlflowRun());
            assertEquals(Optional.of(expected), result.mlflowRun());
            assertEquals(Optional.of(expected),
                    distiller.distill(Dataset.builtin("digits"), new TrainingParams().setEpochs(2)).mlflowRun());
            assertEquals("digits-kd", fake.service.submitted.get(0).getRegisteredModelName());
        }
    }

    @Test
    void withoutTrackingThereIsNoRun() {
        try (FakeServer fake = new FakeServer()) {
            fake.service.withFile("model.onnx", "onnx-bytes");
            fake.service.scriptJob(JobState.JOB_STATE_SUCCEEDED, "", fake.service.result(Map.of("student_accuracy", 0.9)));
            DistillationJob job = fake.bridge.newDistiller().setTeacherModel("digits-mlp")
                    .setStudentConfig(new MlpConfig().setHiddenSizes(16))
                    .distillAsync(Dataset.builtin("digits"), new TrainingParams().setEpochs(2));
            assertEquals(Optional.empty(), job.await(WAIT).mlflowRun());
            assertEquals(Optional.empty(), job.mlflowRun());
        }
    }

    @Test
    void jobInfoCarriesTheRun() {
        Job job = Job.newBuilder().setJobId("job-1").setState(dev.distillbridge.proto.v1.JobState.JOB_STATE_RUNNING)
                .setMlflowRun(run("")).build();
        assertEquals(Optional.of(new MlflowRun("abc123", URL, "1", "", "")),
                JobInfo.fromProto(job, id -> null).mlflowRun());
        assertEquals(Optional.empty(), JobInfo.fromProto(job.toBuilder().clearMlflowRun().build(), id -> null).mlflowRun());
    }

    @Test
    void aBadRegisteredModelNameIsRefusedLocallyNamingTheField() {
        try (FakeServer fake = new FakeServer()) {
            for (String bad : List.of("team/model", "a:b", " lead", "trail ", "x".repeat(257))) {
                DistillException e = assertThrows(DistillException.class, () -> fake.bridge.newDistiller()
                        .setTeacherModel("digits-mlp").setStudentConfig(new MlpConfig().setHiddenSizes(16))
                        .setRegisteredModelName(bad).distill(Dataset.builtin("digits"), null));
                assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatusCode(), bad);
                assertTrue(e.getMessage().contains("registered_model_name"), e.getMessage());
            }
            assertTrue(fake.service.submitted.isEmpty());
        }
    }
}
