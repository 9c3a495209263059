package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.distillbridge.proto.v1.JobState;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.TrainingParams;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link Distiller#distillAsync} and {@link DistillationJob} against the in-process fake server. */
class DistillationJobTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private FakeServer fake;

    @BeforeEach
    void start() {
        fake = new FakeServer();
        fake.service.withFile("model.onnx", "onnx-bytes");
        fake.service.scriptJob(JobState.JOB_STATE_SUCCEEDED, "", fake.service.result(Map.of("student_accuracy", 0.9)));
    }

    @AfterEach
    void stop() {
        fake.close();
    }

    private DistillationJob startJob() {
        return fake.bridge.newDistiller()
                .setTeacherModel("german-credit-mlp")
                .setStudentConfig(new MlpConfig().setHiddenSizes(16))
                .distillAsync(Dataset.builtin("german-credit"), new TrainingParams().setEpochs(2));
    }

    @Test
    void theResultCompletesAndEveryEventIsPublishedInOrder() throws Exception {
        List<DistillEvent> heard = Collections.synchronizedList(new ArrayList<>());
        DistillationJob job = startJob().onEvent(heard::add);
        DistillationResult result = job.await(WAIT);
        assertEquals(FakeDistillerService.JOB_ID, result.jobId());
        assertEquals(FakeDistillerService.JOB_ID, job.jobId().orElseThrow());
        assertEquals(FakeDistillerService.JOB_ID, job.submitted().get(10, TimeUnit.SECONDS));
        assertTrue(job.isDone());
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), heard.stream().map(DistillEvent::sequence).toList());

        // a subscriber that arrives after the end still gets every event, then onComplete
        Recorder late = new Recorder(Long.MAX_VALUE);
        job.events().subscribe(late);
        assertEquals(5, late.events.size());
        assertEquals(DistillEvent.Kind.FINISHED, late.events.get(4).kind());
        assertTrue(late.completed);
        assertEquals(null, late.error);
    }

    @Test
    void subscribersGetOnlyWhatTheyRequest() throws Exception {
        DistillationJob job = startJob();
        job.await(WAIT);
        Recorder slow = new Recorder(0);
        job.events().subscribe(slow);
        assertEquals(0, slow.events.size());
        slow.subscription.request(2);
        assertEquals(List.of(0L, 1L), slow.events.stream().map(DistillEvent::sequence).toList());
        assertFalse(slow.completed);
        slow.subscription.request(3);
        assertEquals(5, slow.events.size());
        assertTrue(slow.completed, "the end is signalled without further demand");
        Recorder bad = new Recorder(0);
        job.events().subscribe(bad);
        bad.subscription.request(0);
        assertInstanceOf(IllegalArgumentException.class, bad.error, "request(0) breaks rule 3.9");
    }

    @Test
    void anInvalidDescriptionFailsAtOnceAndSendsNothing() {
        DistillationJob job = fake.bridge.newDistiller().setTeacherModel("german-credit-mlp")
                .setStudentConfig(new MlpConfig().setHiddenSizes(16, -1))
                .distillAsync(Dataset.builtin("german-credit"), new TrainingParams().setBatchSize(0));
        assertTrue(job.isDone());
        DistillException e = assertThrows(DistillException.class, job::await);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatusCode());
        assertTrue(e.getMessage().contains("student.mlp.hidden_sizes"), e.getMessage());
        assertTrue(e.getMessage().contains("training.batch_size: must be > 0, got 0"), e.getMessage());
        assertEquals(0, fake.service.submitAttempts.get());
        assertTrue(job.jobId().isEmpty());
    }

    @Test
    void aFailedJobFailsTheFutureAndThePublisherWithAborted() {
        fake.service.scriptJob(JobState.JOB_STATE_FAILED, "out of memory", null);
        DistillationJob job = startJob();
        ExecutionException e = assertThrows(ExecutionException.class, () -> job.result().get(10, TimeUnit.SECONDS));
        DistillException cause = assertInstanceOf(DistillException.class, e.getCause());
        assertEquals(Status.Code.ABORTED, cause.getStatusCode());
        assertTrue(cause.getMessage().contains("out of memory"));
        Recorder recorder = new Recorder(Long.MAX_VALUE);
        job.events().subscribe(recorder);
        assertEquals(5, recorder.events.size(), "the failed job's events, FINISHED included");
        assertEquals(cause, recorder.error);
    }

    @Test
    void cancelStopsWatchingAndCancelsTheJobOnTheServer() throws Exception {
        fake.service.watchEnds = false;
        DistillationJob job = startJob();
        await(() -> !fake.service.watchRequests.isEmpty());
        assertFalse(job.isDone());

        assertTrue(job.cancel());
        assertFalse(job.cancel(), "a second cancel has nothing to do");
        assertEquals(List.of(FakeDistillerService.JOB_ID), fake.service.cancelled);
        assertThrows(CancellationException.class, () -> job.result().join());
        DistillException e = assertThrows(DistillException.class, job::await);
        assertEquals(Status.Code.CANCELLED, e.getStatusCode());
        await(() -> fake.service.watchesCancelled.get() == 1); // the open stream was closed
    }

    @Test
    void cancellingTheResultViewCancelsTheJob() throws Exception {
        fake.service.watchEnds = false;
        DistillationJob job = startJob();
        await(() -> !fake.service.watchRequests.isEmpty());
        CompletableFuture<DistillationResult> view = job.result();
        assertTrue(view.cancel(true));
        await(job::isDone);
        assertEquals(List.of(FakeDistillerService.JOB_ID), fake.service.cancelled);
    }

    @Test
    void completingAViewDoesNotChangeTheJob() throws Exception {
        fake.service.watchEnds = false;
        DistillationJob job = startJob();
        assertTrue(job.result().complete(null));
        assertFalse(job.isDone());
        job.cancel();
    }

    @Test
    void aCancelDuringTheSubmitCancelsTheJobOnceItHasAnId() throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        fake.service.submitGate = gate;
        DistillationJob job = startJob();
        await(() -> fake.service.submitAttempts.get() == 1);
        assertTrue(job.cancel());
        assertTrue(fake.service.cancelled.isEmpty(), "no job id yet");
        gate.countDown();
        await(() -> !fake.service.cancelled.isEmpty());
        assertEquals(List.of(FakeDistillerService.JOB_ID), fake.service.cancelled);
        assertTrue(fake.service.watchRequests.isEmpty(), "a cancelled job is not watched");
    }

    @Test
    void theDescriptionIsSnapshottedAtDistill() throws Exception {
        fake.service.submitGate = new CountDownLatch(1);
        MlpConfig student = new MlpConfig().setHiddenSizes(16);
        TrainingParams params = new TrainingParams().setEpochs(2).setSeed(7);
        Distiller distiller = fake.bridge.newDistiller().setTeacherModel("german-credit-mlp").setStudentConfig(student);
        DistillationJob job = distiller.distillAsync(Dataset.builtin("german-credit"), params);
        student.setHiddenSizes(999);
        params.setEpochs(50).setSeed(1);
        distiller.setTeacherModel("other");
        fake.service.submitGate.countDown();
        job.await(WAIT);
        var spec = fake.service.submitted.get(0);
        assertEquals(List.of(16), spec.getStudent().getMlp().getHiddenSizesList());
        assertEquals(2, spec.getTraining().getEpochs());
        assertEquals(7, spec.getTraining().getSeed());
        assertEquals("german-credit-mlp", spec.getTeacher().getReference());
    }

    @Test
    void awaitWithATimeoutLeavesTheJobRunning() {
        fake.service.watchEnds = false;
        DistillationJob job = startJob();
        DistillException e = assertThrows(DistillException.class, () -> job.await(Duration.ofMillis(100)));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatusCode());
        assertFalse(job.isDone());
        assertTrue(fake.service.cancelled.isEmpty());
        job.cancel();
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within " + WAIT);
            }
            Thread.sleep(5);
        }
    }

    /** Records what a Flow subscriber receives; requests {@code initial} at subscription. */
    private static final class Recorder implements Flow.Subscriber<DistillEvent> {
        final List<DistillEvent> events = Collections.synchronizedList(new ArrayList<>());
        final long initial;
        volatile Flow.Subscription subscription;
        volatile boolean completed;
        volatile Throwable error;

        Recorder(long initial) {
            this.initial = initial;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (initial > 0) {
                s.request(initial);
            }
        }

        @Override
        public void onNext(DistillEvent item) {
            events.add(item);
        }

        @Override
        public void onError(Throwable throwable) {
            error = throwable;
        }

        @Override
        public void onComplete() {
            completed = true;
        }
    }
}
