package dev.distillbridge.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A {@link Flow.Publisher} of one job's events that replays: every subscriber gets every event
 * from the first, in order, then the live ones, then {@code onComplete} (the job succeeded) or
 * {@code onError} (it failed or was cancelled). Demand is honoured per subscriber; events are
 * delivered on the thread that publishes them or the one that requests more.
 *
 * <p>It follows the Reactive Streams rules (checked by the TCK in {@code EventStreamTckTest}):
 * {@code onSubscribe} comes before any other signal, signals to one subscriber never overlap,
 * {@code request(n <= 0)} ends the subscription with an {@link IllegalArgumentException}
 * (rule 3.9), demand adds up to {@link Long#MAX_VALUE} (unbounded), a cancelled subscriber is
 * forgotten, and a subscriber that throws (breaking rule 2.13) is cancelled and logged.
 */
final class EventStream implements Flow.Publisher<DistillEvent> {
    private static final Logger LOG = Logger.getLogger(EventStream.class.getName());

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
        // Hold the delivery's drain while onSubscribe runs: an event published meanwhile (or a
        // request made inside onSubscribe) only marks work, done once onSubscribe has returned.
        delivery.wip.set(1);
        synchronized (this) {
            subscriptions.add(delivery);
        }
        try {
            subscriber.onSubscribe(delivery);
        } catch (Throwable t) {
            delivery.violated("onSubscribe", t);
        }
        delivery.drainLoop();
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

    private synchronized Throwable failure() {
        return failure;
    }

    private synchronized void forget(Delivery delivery) {
        subscriptions.remove(delivery);
    }

    /**
     * One subscriber's position and demand. Every signal to the subscriber is made inside
     * {@link #drainLoop()}, which one thread at a time runs (the work-in-progress counter), so
     * signals never overlap and re-entrant calls (request inside onNext) do not recurse.
     */
    private final class Delivery implements Flow.Subscription {
        private final AtomicInteger wip = new AtomicInteger();
        private final AtomicLong demand = new AtomicLong();
        /** Null once the subscription has ended, so a cancelled subscriber can be collected (rule 3.13). */
        private Flow.Subscriber<? super DistillEvent> subscriber;
        private volatile boolean cancelled;
        private volatile IllegalArgumentException badRequest;
        private int next; // only the drain loop touches it

        Delivery(Flow.Subscriber<? super DistillEvent> subscriber) {
            this.subscriber = subscriber;
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                if (badRequest == null) {
                    badRequest = new IllegalArgumentException(
                            "Reactive Streams rule 3.9: request(n) needs n > 0, got " + n);
                }
            } else {
                demand.getAndUpdate(d -> d + n < 0 ? Long.MAX_VALUE : d + n);
            }
            drain();
        }

        @Override
        public void cancel() {
            cancelled = true;
            drain();
        }

        void drain() {
            if (wip.getAndIncrement() == 0) {
                drainLoop();
            }
        }

        /** Delivers what it can; the caller holds one unit of {@link #wip}. */
        void drainLoop() {
            int missed = 1;
            do {
                Flow.Subscriber<? super DistillEvent> s = subscriber;
                if (s != null) {
                    if (cancelled) {
                        stop();
                    } else if (badRequest != null) {
                        stop();
                        signal(s, "onError", () -> s.onError(badRequest));
                    } else {
                        emit(s);
                    }
                }
                missed = wip.addAndGet(-missed);
            } while (missed != 0);
        }

        private void emit(Flow.Subscriber<? super DistillEvent> s) {
            while (!cancelled && badRequest == null && demand.get() > 0) {
                DistillEvent event = eventAt(next);
                if (event == null) {
                    break;
                }
                next++;
                demand.updateAndGet(d -> d == Long.MAX_VALUE ? d : d - 1);
                if (!signal(s, "onNext", () -> s.onNext(event))) {
                    return;
                }
            }
            if (!cancelled && badRequest == null && endedAfter(next)) {
                stop();
                Throwable error = failure();
                if (error == null) {
                    signal(s, "onComplete", s::onComplete);
                } else {
                    signal(s, "onError", () -> s.onError(error));
                }
            }
        }

        /** Runs one signal; false when the subscriber threw, which cancels it. */
        private boolean signal(Flow.Subscriber<? super DistillEvent> s, String method, Runnable call) {
            try {
                call.run();
                return true;
            } catch (Throwable t) {
                violated(method, t);
                return false;
            }
        }

        /** The subscriber threw from {@code method}: rule 2.13 says to treat it as cancelled. */
        void violated(String method, Throwable t) {
            LOG.log(Level.WARNING, "event subscriber " + subscriber + " threw from " + method
                    + " (Reactive Streams rule 2.13); its subscription is cancelled", t);
            stop();
            if (t instanceof VirtualMachineError error) {
                throw error;
            }
        }

        private void stop() {
            cancelled = true;
            subscriber = null;
            forget(this);
        }
    }
}
