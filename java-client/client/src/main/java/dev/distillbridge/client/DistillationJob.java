package dev.distillbridge.client;

import dev.distillbridge.client.internal.JobRunner;
import io.grpc.Context;
import io.grpc.Status;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A distillation running in the background, from {@link Distiller#distillAsync}: its result as
 * a {@link CompletableFuture}, its events as a {@link Flow.Publisher} (or a listener), and
 * {@link #cancel()}, which stops watching and cancels the job on the server.
 *
 * <pre>{@code
 * DistillationJob job = distiller.distillAsync(Dataset.builtin("digits"), params)
 *     .onEvent(e -> log.info(e.summary()));
 * job.result().thenAccept(r -> r.download(dir));       // or: DistillationResult r = job.await();
 * ...
 * job.cancel();                                          // also cancels it on the server
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class DistillationJob {
    private static final Logger LOG = Logger.getLogger(DistillationJob.class.getName());

    private final JobRunner runner;
    private final CompletableFuture<DistillationResult> result = new CompletableFuture<>();
    private final CompletableFuture<String> submitted = new CompletableFuture<>();
    private final EventStream events = new EventStream();
    private final Context.CancellableContext watchContext = Context.ROOT.withCancellation();
    private final AtomicBoolean finished = new AtomicBoolean();
    private final AtomicReference<DistillEvent.PhaseProgress> latestProgress = new AtomicReference<>();
    private final AtomicReference<MlflowRun> mlflowRun = new AtomicReference<>();
    private volatile boolean cancelRequested;
    private volatile String jobId;

    private DistillationJob(JobRunner runner) {
        this.runner = runner;
        result.whenComplete((r, error) -> watchContext.cancel(null)); // closes the watch stream if open
    }

    /** Starts {@code submission} on {@code executor}: upload and submit, then watch until the job ends. */
    static DistillationJob start(Distiller.Submission submission, Executor executor) {
        DistillationJob job = new DistillationJob(submission.runner());
        executor.execute(() -> job.run(submission));
        return job;
    }

    /** A job whose description was refused before anything was sent. */
    static DistillationJob failed(JobRunner runner, DistillException error) {
        DistillationJob job = new DistillationJob(runner);
        job.submitted.completeExceptionally(error);
        job.finish(null, error);
        return job;
    }

    private void run(Distiller.Submission submission) {
        try {
            // Submit outside the cancellable context: a cancel() during the submit then sees
            // the job id and cancels the job on the server, instead of orphaning it.
            String id = submission.submit();
            jobId = id;
            submitted.complete(id);
            if (cancelRequested) {
                cancelOnServer(id);
                return;
            }
            finish(watchContext.call(() -> submission.watch(id, this::noteProgress, events::publish)), null);
        } catch (Throwable e) {
            submitted.completeExceptionally(e);
            finish(null, e);
        }
    }

    /** Notes a phase's progress before any listener sees the event, so one that polls it sees this one. */
    private void noteProgress(DistillEvent event) {
        if (event.phaseProgress() != null) {
            latestProgress.set(event.phaseProgress());
        }
        if (event.mlflowRun() != null) {
            mlflowRun.set(event.mlflowRun());
        }
    }

    /**
     * Ends the job once: the event stream first (so a subscriber that arrives after the result
     * sees the end), then the result. Returns false when it had already ended.
     */
    private boolean finish(DistillationResult value, Throwable error) {
        if (!finished.compareAndSet(false, true)) {
            return false;
        }
        events.end(error);
        if (error instanceof CancellationException) {
            result.cancel(false);
        } else if (error != null) {
            result.completeExceptionally(error);
        } else {
            result.complete(value);
        }
        return true;
    }

    /**
     * The outcome, as a new future each call: completing or obtruding it does not change the
     * job, but cancelling it cancels the job (as {@link #cancel()}). It fails with a
     * {@link DistillException} (ABORTED when the job failed, INVALID_ARGUMENT for a refused
     * description, ...) or a {@link CancellationException}.
     */
    public CompletableFuture<DistillationResult> result() {
        CompletableFuture<DistillationResult> view = new CompletableFuture<>();
        result.whenComplete((r, error) -> {
            if (result.isCancelled()) {
                view.cancel(false);
            } else if (error != null) {
                view.completeExceptionally(unwrap(error));
            } else {
                view.complete(r);
            }
        });
        view.whenComplete((r, error) -> {
            if (view.isCancelled()) {
                cancel();
            }
        });
        return view;
    }

    /** Completes with the server's job id once the job is submitted (fails if it never is). */
    public CompletableFuture<String> submitted() {
        return submitted.copy();
    }

    /** The server's job id, once the job is submitted. */
    public Optional<String> jobId() {
        return Optional.ofNullable(jobId);
    }

    /**
     * The job's events (stages, progress, phase progress, validation, logs, the final event): each subscriber
     * gets all of them from the first, in sequence order, then {@code onComplete} when the job
     * succeeded or {@code onError} with the failure. Backpressure is honoured per subscriber.
     */
    public Flow.Publisher<DistillEvent> events() {
        return events;
    }

    /**
     * Calls {@code listener} with every event, past ones first, on the thread delivering them.
     * A listener that throws is logged and does not stop the job.
     */
    public DistillationJob onEvent(Consumer<DistillEvent> listener) {
        Objects.requireNonNull(listener, "listener");
        events.subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription subscription) {
                subscription.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(DistillEvent event) {
                try {
                    listener.accept(event);
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "event listener failed on " + event.kind() + " event " + event.sequence(), e);
                }
            }

            @Override
            public void onError(Throwable error) {
                // the result carries the failure
            }

            @Override
            public void onComplete() {
                // nothing more to deliver
            }
        });
        return this;
    }

    /**
     * The latest {@link DistillEvent.Kind#PHASE_PROGRESS PHASE_PROGRESS} seen for this job (of
     * whichever phase it is in), for a UI or a log to poll; empty until the server sent one.
     */
    public Optional<DistillEvent.PhaseProgress> latestProgress() {
        return Optional.ofNullable(latestProgress.get());
    }

    /**
     * The job's MLflow run as its latest {@link DistillEvent.Kind#MLFLOW_RUN MLFLOW_RUN} event
     * told (with the registered model version once there is one); empty on a server without
     * {@code --mlflow-tracking-uri}, or until the run exists.
     */
    public Optional<MlflowRun> mlflowRun() {
        return Optional.ofNullable(mlflowRun.get());
    }

    /** True once the job succeeded, failed or was cancelled (as far as this client knows). */
    public boolean isDone() {
        return result.isDone();
    }

    /**
     * Cancels the job: stops watching, fails {@link #result()} with a
     * {@link CancellationException} and asks the server to cancel it (at once when it was
     * submitted, else as soon as the submit returns). Returns false when the job had already
     * ended.
     */
    public boolean cancel() {
        cancelRequested = true;
        boolean cancelled = finish(null, new CancellationException("cancelled by this client"));
        String id = jobId;
        if (cancelled && id != null) {
            cancelOnServer(id);
        }
        return cancelled;
    }

    /**
     * Blocks until the job ends and returns its result.
     *
     * @throws DistillException as {@link Distiller#distill} (CANCELLED after {@link #cancel()})
     */
    public DistillationResult await() {
        try {
            return result.join();
        } catch (CompletionException | CancellationException e) {
            throw asDistillException(e);
        }
    }

    /**
     * Blocks until the job ends or {@code timeout} passes; the job keeps running after a timeout.
     *
     * @throws DistillException DEADLINE_EXCEEDED when the timeout passes first, else as {@link #await()}
     */
    public DistillationResult await(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        try {
            return result.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new DistillException(Status.DEADLINE_EXCEEDED.withDescription("job did not end within " + timeout),
                    jobId().orElse(null), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistillException(Status.CANCELLED.withDescription("interrupted while waiting"),
                    jobId().orElse(null), e);
        } catch (ExecutionException | CancellationException e) {
            throw asDistillException(e);
        }
    }

    @Override
    public String toString() {
        return "DistillationJob{jobId=" + jobId().orElse("(not submitted)") + ", done=" + isDone() + "}";
    }

    private DistillException asDistillException(Exception e) {
        Throwable cause = unwrap(e);
        if (cause instanceof DistillException d) {
            return d;
        }
        if (cause instanceof CancellationException) {
            return new DistillException(Status.CANCELLED.withDescription("job was cancelled by this client"),
                    jobId().orElse(null), cause);
        }
        return new DistillException(Status.UNKNOWN.withDescription(String.valueOf(cause)), jobId().orElse(null), cause);
    }

    private static Throwable unwrap(Throwable e) {
        return (e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null
                ? e.getCause() : e;
    }

    private void cancelOnServer(String jobId) {
        runner.cancel(jobId); // best effort: logs instead of throwing
    }
}
