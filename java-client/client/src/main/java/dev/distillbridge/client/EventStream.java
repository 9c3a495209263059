package dev.distillbridge.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link Flow.Publisher} of one job's events that replays: every subscriber gets every event
 * from the first, in order, then the live ones, then {@code onComplete} (the job succeeded) or
 * {@code onError} (it failed or was cancelled). Demand is honoured per subscriber; events are
 * delivered on the thread that publishes them or the one that requests more.
 */
final class EventStream implements Flow.Publisher<DistillEvent> {
    private final List<DistillEvent> events = new ArrayList<>();
    private final List<Delivery> subscriptions = new ArrayList<>();
    private boolean ended;
    private Throwable failure;

    /** Appends an event and delivers it to every subscriber with demand. */
    void publish(DistillEvent event) {
        Objects.requireNonNull(event, "event");
        synchronized (this) {
            if (ended) {
                return;
            }
            events.add(event);
        }
        drainAll();
    }

    /** Ends the stream: onComplete when {@code error} is null, else onError. Only the first call counts. */
    void end(Throwable error) {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            failure = error;
        }
        drainAll();
    }

    @Override
    public void subscribe(Flow.Subscriber<? super DistillEvent> subscriber) {
        Delivery delivery = new Delivery(Objects.requireNonNull(subscriber, "subscriber"));
        synchronized (this) {
            subscriptions.add(delivery);
        }
        subscriber.onSubscribe(delivery);
        delivery.drain();
    }

    private void drainAll() {
        List<Delivery> current;
        synchronized (this) {
            current = List.copyOf(subscriptions);
        }
        current.forEach(Delivery::drain);
    }

    private synchronized DistillEvent eventAt(int index) {
        return index < events.size() ? events.get(index) : null;
    }

    private synchronized boolean endedAfter(int index) {
        return ended && index >= events.size();
    }

    /** One subscriber's position and demand; drains are serialised by a work-in-progress counter. */
    private final class Delivery implements Flow.Subscription {
        private final Flow.Subscriber<? super DistillEvent> subscriber;
        private final AtomicInteger wip = new AtomicInteger();
        private long demand; // guarded by drain serialisation and synchronized(this) for request()
        private int next;
        private volatile boolean done;

        Delivery(Flow.Subscriber<? super DistillEvent> subscriber) {
            this.subscriber = subscriber;
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                cancel();
                subscriber.onError(new IllegalArgumentException("request(n) needs n > 0, got " + n));
                return;
            }
            synchronized (this) {
                demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
            }
            drain();
        }

        @Override
        public void cancel() {
            done = true;
            synchronized (EventStream.this) {
                subscriptions.remove(this);
            }
        }

        void drain() {
            if (wip.getAndIncrement() != 0) {
                return;
            }
            do {
                while (!done) {
                    DistillEvent event = eventAt(next);
                    if (event == null || !take()) {
                        break;
                    }
                    next++;
                    subscriber.onNext(event);
                }
                if (!done && endedAfter(next)) {
                    cancel();
                    Throwable error;
                    synchronized (EventStream.this) {
                        error = failure;
                    }
                    if (error == null) {
                        subscriber.onComplete();
                    } else {
                        subscriber.onError(error);
                    }
                }
            } while (wip.decrementAndGet() != 0);
        }

        private synchronized boolean take() {
            if (demand == 0) {
                return false;
            }
            if (demand != Long.MAX_VALUE) {
                demand--;
            }
            return true;
        }
    }
}
