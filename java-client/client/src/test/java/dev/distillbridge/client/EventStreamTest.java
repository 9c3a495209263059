package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The orderings of {@link EventStream} that the Reactive Streams TCK only meets by chance
 * ({@link LiveEventStreamTckTest}), made deterministic with latches.
 */
class EventStreamTest {

    /** Records every signal as text; optionally blocks in onSubscribe until released. */
    private static final class Recorder implements Flow.Subscriber<DistillEvent> {
        final List<String> signals = new CopyOnWriteArrayList<>();
        final CountDownLatch inOnSubscribe = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicReference<Flow.Subscription> subscription = new AtomicReference<>();
        final long initialRequest;
        final boolean block;

        Recorder(long initialRequest, boolean block) {
            this.initialRequest = initialRequest;
            this.block = block;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            signals.add("onSubscribe");
            subscription.set(s);
            if (initialRequest > 0) {
                s.request(initialRequest);
            }
            inOnSubscribe.countDown();
            if (block) {
                try {
                    assertTrue(release.await(10, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            signals.add("onSubscribe returned");
        }

        @Override
        public void onNext(DistillEvent event) {
            signals.add("onNext " + event.sequence());
        }

        @Override
        public void onError(Throwable error) {
            signals.add("onError " + error.getMessage());
        }

        @Override
        public void onComplete() {
            signals.add("onComplete");
        }
    }

    @Test
    void eventsPublishedWhileOnSubscribeRunsWaitUntilItReturns() throws InterruptedException {
        EventStream stream = new EventStream();
        Recorder recorder = new Recorder(Long.MAX_VALUE, true);
        Thread subscriber = new Thread(() -> stream.subscribe(recorder), "subscriber");
        subscriber.start();
        assertTrue(recorder.inOnSubscribe.await(10, TimeUnit.SECONDS));

        // the job's watcher thread: must neither signal now nor block until onSubscribe returns
        stream.publish(EventStreamTckTest.event(0));
        stream.publish(EventStreamTckTest.event(1));
        stream.end(null);
        assertEquals(List.of("onSubscribe"), recorder.signals, "a signal overtook onSubscribe");

        recorder.release.countDown();
        subscriber.join(10_000);
        assertEquals(List.of("onSubscribe", "onSubscribe returned", "onNext 0", "onNext 1", "onComplete"),
                recorder.signals);
    }

    @Test
    void aSubscriberThatThrowsIsCancelledWhileTheOthersAndThePublisherCarryOn() {
        EventStream stream = new EventStream();
        List<Long> seenByThrower = new CopyOnWriteArrayList<>();
        stream.subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(DistillEvent event) {
                seenByThrower.add(event.sequence());
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void onError(Throwable error) {
                seenByThrower.add(-1L);
            }

            @Override
            public void onComplete() {
                seenByThrower.add(-2L);
            }
        });
        Recorder healthy = new Recorder(Long.MAX_VALUE, false);
        stream.subscribe(healthy);

        assertDoesNotThrow(() -> {
            stream.publish(EventStreamTckTest.event(0));
            stream.publish(EventStreamTckTest.event(1));
            stream.end(null);
        });
        assertEquals(List.of(0L), seenByThrower, "the throwing subscriber was not cancelled (rule 2.13)");
        assertEquals(List.of("onSubscribe", "onSubscribe returned", "onNext 0", "onNext 1", "onComplete"),
                healthy.signals);
    }

    @Test
    void requestZeroEndsTheSubscriptionWithRule39AndNothingFollows() {
        EventStream stream = new EventStream();
        Recorder recorder = new Recorder(1, false);
        stream.subscribe(recorder);
        stream.publish(EventStreamTckTest.event(0));
        recorder.subscription.get().request(0);
        stream.publish(EventStreamTckTest.event(1));
        recorder.subscription.get().request(5);
        stream.end(null);
        assertEquals(List.of("onSubscribe", "onSubscribe returned", "onNext 0"), recorder.signals.subList(0, 3));
        assertEquals(4, recorder.signals.size(), recorder.signals.toString());
        assertTrue(recorder.signals.get(3).startsWith("onError Reactive Streams rule 3.9: request(n) needs n > 0"),
                recorder.signals.toString());
    }

    @Test
    void aBadRequestAfterTheEndSignalsNothing() {
        EventStream stream = new EventStream();
        stream.publish(EventStreamTckTest.event(0));
        stream.end(null);
        Recorder recorder = new Recorder(Long.MAX_VALUE, false);
        stream.subscribe(recorder);
        recorder.subscription.get().request(-1);
        recorder.subscription.get().cancel();
        assertEquals(List.of("onSubscribe", "onSubscribe returned", "onNext 0", "onComplete"), recorder.signals,
                "a signal after onComplete breaks rule 1.7");
    }
}
