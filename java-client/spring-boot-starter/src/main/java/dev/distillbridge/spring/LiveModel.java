package dev.distillbridge.spring;

import dev.distillbridge.inference.DistilledModel;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * The model a service answers with, replaceable while it serves. Each use takes a counted
 * lease on the current model; {@link #swap} installs a new one at once, and the old one is
 * closed only when its last lease is returned, so no request in flight is dropped or sees a
 * closed model. Thread-safe.
 *
 * <pre>{@code
 * Prediction p = liveModel.predict(model -> model.predict(features));
 * }</pre>
 *
 * <p>{@link #predict} is observed (Micrometer {@value #OBSERVATION}: a timer with count and
 * latency, tagged with the answering model's id and precision); {@link #apply} is not.
 */
public final class LiveModel implements AutoCloseable {
    /** The name of the observation (and so of the timer) around each {@link #predict}. */
    public static final String OBSERVATION = "distillbridge.prediction";

    private final AtomicReference<Lease> current;
    private final ObservationRegistry observations;

    /** Serves {@code initial} (already loaded and verified) until the first swap; not observed. */
    public LiveModel(DistilledModel initial) {
        this(initial, ObservationRegistry.NOOP);
    }

    /** Serves {@code initial}, observing each prediction in {@code observations}. */
    public LiveModel(DistilledModel initial, ObservationRegistry observations) {
        this.current = new AtomicReference<>(new Lease(Objects.requireNonNull(initial, "initial")));
        this.observations = Objects.requireNonNull(observations, "observations");
    }

    /**
     * Runs a prediction on the current model (which stays open until it returns, even if a swap
     * happens meanwhile), as a Micrometer observation tagged {@code model.id} (the artifact's
     * job id) and {@code model.precision}.
     *
     * @throws IllegalStateException after {@link #close()}
     */
    public <T> T predict(Function<DistilledModel, T> prediction) {
        return apply(model -> Observation.createNotStarted(OBSERVATION, observations)
                .contextualName("distillbridge predict")
                .lowCardinalityKeyValue("model.id", model.manifest().jobId())
                .lowCardinalityKeyValue("model.precision", model.precision().name())
                .observe(() -> prediction.apply(model)));
    }

    /**
     * Runs {@code action} on the current model, which stays open until it returns even if a
     * swap happens meanwhile.
     *
     * @throws IllegalStateException after {@link #close()}
     */
    public <T> T apply(Function<DistilledModel, T> action) {
        Lease lease = acquire();
        try {
            return action.apply(lease.model);
        } finally {
            lease.release();
        }
    }

    /**
     * Makes {@code next} the current model. Requests that start from now on use it; the
     * previous model is closed once the requests using it have finished.
     *
     * @return completes when the previous model has been closed
     */
    public CompletableFuture<DistilledModel> swap(DistilledModel next) {
        Lease old = current.getAndSet(new Lease(Objects.requireNonNull(next, "next")));
        if (old == Lease.CLOSED) {
            current.set(Lease.CLOSED);
            next.close();
            throw new IllegalStateException("LiveModel is closed");
        }
        old.release(); // the holder's own reference
        return old.closed;
    }

    /** Closes the current model once its requests in flight have finished. Idempotent. */
    @Override
    public void close() {
        Lease old = current.getAndSet(Lease.CLOSED);
        if (old != Lease.CLOSED) {
            old.release();
        }
    }

    private Lease acquire() {
        while (true) {
            Lease lease = current.get();
            if (lease == Lease.CLOSED) {
                throw new IllegalStateException("LiveModel is closed");
            }
            if (lease.tryRetain()) {
                return lease;
            }
            // it was swapped out and drained between get() and tryRetain(): read the new one
        }
    }

    /** A model with a reference count: 1 for the holder, +1 per request using it. */
    private static final class Lease {
        static final Lease CLOSED = new Lease(null);

        final DistilledModel model;
        final AtomicInteger refs = new AtomicInteger(1);
        final CompletableFuture<DistilledModel> closed = new CompletableFuture<>();

        Lease(DistilledModel model) {
            this.model = model;
        }

        boolean tryRetain() {
            int n;
            do {
                n = refs.get();
                if (n == 0) {
                    return false;
                }
            } while (!refs.compareAndSet(n, n + 1));
            return true;
        }

        void release() {
            if (refs.decrementAndGet() == 0 && model != null) {
                try {
                    model.close();
                } finally {
                    closed.complete(model);
                }
            }
        }
    }
}
