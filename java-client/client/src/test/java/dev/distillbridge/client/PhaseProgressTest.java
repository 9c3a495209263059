package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.distillbridge.proto.v1.FinishedEvent;
import dev.distillbridge.proto.v1.JobEvent;
import dev.distillbridge.proto.v1.JobState;
import dev.distillbridge.proto.v1.PhaseProgressEvent;
import dev.distillbridge.proto.v1.StageEvent;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.TrainingParams;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** PHASE_PROGRESS events: conversion, {@code summary()}, and {@link DistillationJob#latestProgress()}. */
class PhaseProgressTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static JobEvent phase(long sequence, PhaseProgressEvent.Builder p) {
        return FakeDistillerService.event(sequence).setPhaseProgress(p).build();
    }

    private static PhaseProgressEvent.Builder train(long done, long total) {
        return PhaseProgressEvent.newBuilder().setPhase("train").setDone(done).setTotal(total).setUnit("steps");
    }

    @Test
    void convertsEveryField() {
        DistillEvent e = DistillEvent.fromProto(phase(7, train(1200, 2400).setElapsedSeconds(80.25)
                .setEtaSeconds(80).setMessage("about 3 min here").putFigures("epoch", 2).putFigures("loss", 0.41)));

        assertEquals(DistillEvent.Kind.PHASE_PROGRESS, e.kind());
        assertEquals(FakeDistillerService.JOB_ID, e.jobId());
        assertEquals(7, e.sequence());
        DistillEvent.PhaseProgress p = e.phaseProgress();
        assertEquals("train", p.phase());
        assertEquals(1200, p.done());
        assertEquals(2400, p.total());
        assertEquals("steps", p.unit());
        assertEquals(Duration.ofMillis(80250), p.elapsed());
        assertEquals(Optional.of(Duration.ofSeconds(80)), p.eta());
        assertEquals("about 3 min here", p.message());
        assertEquals(Map.of("epoch", 2.0, "loss", 0.41), p.figures());
        assertEquals(OptionalDouble.of(0.5), p.fraction());
        assertThrows(UnsupportedOperationException.class, () -> p.figures().put("x", 1.0));
        // the flat fields of other kinds stay empty
        assertEquals("", e.stage());
        assertEquals("", e.message());
        assertNull(e.state());
    }

    @Test
    void otherKindsHaveNoPhaseProgress() {
        DistillEvent stage = DistillEvent.fromProto(FakeDistillerService.event(0)
                .setStage(StageEvent.newBuilder().setStage("train").setMessage("training")).build());
        assertNull(stage.phaseProgress());
    }

    @Test
    void noEstimateYetAndUnknownTotal() {
        DistillEvent.PhaseProgress p = DistillEvent.fromProto(phase(1, train(1200, 0).setEtaSeconds(-1)))
                .phaseProgress();
        assertEquals(Optional.empty(), p.eta());
        assertEquals(OptionalDouble.empty(), p.fraction());
        assertEquals(Map.of(), p.figures());
    }

    @Test
    void figuresAreCopied() {
        Map<String, Double> figures = new HashMap<>(Map.of("epoch", 1.0));
        DistillEvent.PhaseProgress p = new DistillEvent.PhaseProgress("train", 1, 2, "steps", Duration.ZERO,
                Optional.empty(), "", figures);
        figures.put("loss", 0.5);
        assertEquals(Map.of("epoch", 1.0), p.figures());
    }

    @Test
    void summaries() {
        assertEquals("[train] 1200/2400 steps (50%), about 1m 20s left",
                DistillEvent.fromProto(phase(1, train(1200, 2400).setEtaSeconds(80))).summary());
        assertEquals("[train] 1200/2400 steps (50%)",
                DistillEvent.fromProto(phase(1, train(1200, 2400).setEtaSeconds(-1))).summary());
        assertEquals("[train] 1200 steps",
                DistillEvent.fromProto(phase(1, train(1200, 0).setEtaSeconds(-1))).summary());
        assertEquals("[teacher_cache] 0/60000 rows (0%) - computing the teacher's outputs once",
                DistillEvent.fromProto(phase(1, PhaseProgressEvent.newBuilder().setPhase("teacher_cache")
                        .setTotal(60000).setUnit("rows").setEtaSeconds(-1)
                        .setMessage("computing the teacher's outputs once"))).summary());
        assertEquals("[export] 2/2 models (100%)",
                DistillEvent.fromProto(phase(1, PhaseProgressEvent.newBuilder().setPhase("export").setDone(2)
                        .setTotal(2).setUnit("models").setEtaSeconds(0))).summary());
        assertEquals("[train] 1/3 steps (33%), about 45s left - about 1 min here",
                DistillEvent.fromProto(phase(1, train(1, 3).setEtaSeconds(44.6).setMessage("about 1 min here")))
                        .summary());
        assertEquals("[train] 600/2400 steps (25%), about 1m 05s left",
                DistillEvent.fromProto(phase(1, train(600, 2400).setEtaSeconds(65.2))).summary());
        assertEquals("[train] 10/2400 steps (0%), about 2h 05m left",
                DistillEvent.fromProto(phase(1, train(10, 2400).setEtaSeconds(7500))).summary());
    }

    @Test
    void theJobKeepsTheLatestProgressForPolling() throws Exception {
        try (FakeServer fake = new FakeServer()) {
            fake.service.events = List.of(
                    phase(0, train(0, 100).setEtaSeconds(-1).setMessage("training the student")),
                    phase(1, train(50, 100).setEtaSeconds(5)),
                    FakeDistillerService.event(2).setStage(StageEvent.newBuilder().setStage("export")
                            .setMessage("exporting")).build(),
                    phase(3, PhaseProgressEvent.newBuilder().setPhase("export").setDone(1).setTotal(2)
                            .setUnit("models").setEtaSeconds(-1)),
                    FakeDistillerService.event(4).setFinished(FinishedEvent.newBuilder()
                            .setState(JobState.JOB_STATE_CANCELLED)).build());
            fake.service.watchEnds = false; // the job stays open after the export event
            fake.service.submitGate = new CountDownLatch(1); // until the listener knows its job
            AtomicReference<DistillationJob> handle = new AtomicReference<>();
            List<String> polled = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch exportSeen = new CountDownLatch(1);
            DistillationJob job = fake.bridge.newDistiller()
                    .setTeacherModel("german-credit-mlp")
                    .setStudentConfig(new MlpConfig().setHiddenSizes(16))
                    .onEvent(e -> {
                        // a listener polling the job sees the progress of the event it is handed
                        polled.add(handle.get().latestProgress().map(p -> p.phase() + " " + p.done()).orElse("-"));
                        if (e.sequence() == 3) {
                            exportSeen.countDown();
                        }
                    })
                    .distillAsync(Dataset.builtin("german-credit"), new TrainingParams().setEpochs(2));
            handle.set(job);
            assertEquals(Optional.empty(), job.latestProgress());
            fake.service.submitGate.countDown();
            assertTrue(exportSeen.await(WAIT.toSeconds(), TimeUnit.SECONDS), "export progress not delivered");

            assertEquals(List.of("train 0", "train 50", "train 50", "export 1"), polled);
            DistillEvent.PhaseProgress latest = job.latestProgress().orElseThrow();
            assertEquals("export", latest.phase());
            assertEquals(1, latest.done());
            assertEquals(2, latest.total());
            job.cancel();
            // after the job ended the last progress stays readable
            assertEquals("export", job.latestProgress().orElseThrow().phase());
        }
    }

    @Test
    void noProgressEventsLeaveItEmpty() {
        try (FakeServer fake = new FakeServer()) {
            fake.service.withFile("model.onnx", "onnx-bytes");
            fake.service.scriptJob(JobState.JOB_STATE_SUCCEEDED, "",
                    fake.service.result(Map.of("student_accuracy", 0.9)));
            DistillationJob job = fake.bridge.newDistiller()
                    .setTeacherModel("german-credit-mlp")
                    .setStudentConfig(new MlpConfig().setHiddenSizes(16))
                    .distillAsync(Dataset.builtin("german-credit"), new TrainingParams().setEpochs(2));
            job.await(WAIT);
            assertEquals(Optional.empty(), job.latestProgress());
        }
    }
}
