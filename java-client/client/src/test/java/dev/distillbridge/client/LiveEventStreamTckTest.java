package dev.distillbridge.client;

import java.util.concurrent.Flow;
import org.reactivestreams.tck.TestEnvironment;
import org.reactivestreams.tck.flow.FlowPublisherVerification;
import org.testng.ITestContext;
import org.testng.annotations.AfterClass;

/**
 * The Reactive Streams TCK against {@link DistillationJob#events()} while the job runs: another
 * thread publishes the events (as the gRPC watch does) and ends the stream while the TCK
 * subscribes, requests and cancels, so signals race with {@code subscribe}: onSubscribe must
 * still come first (rule 1.9) and signals must never overlap (rule 1.3).
 */
public class LiveEventStreamTckTest extends FlowPublisherVerification<DistillEvent> {
    public LiveEventStreamTckTest() {
        super(new TestEnvironment(1_000, 200), 2_000);
    }

    @Override
    public Flow.Publisher<DistillEvent> createFlowPublisher(long elements) {
        EventStream stream = new EventStream();
        Thread publisher = new Thread(() -> {
            for (long i = 0; i < elements; i++) {
                stream.publish(EventStreamTckTest.event(i));
                if (i % 4 == 0) {
                    Thread.yield();
                }
            }
            stream.end(null);
        }, "tck-live-events");
        publisher.setDaemon(true);
        publisher.start();
        return stream;
    }

    @Override
    public Flow.Publisher<DistillEvent> createFailedFlowPublisher() {
        EventStream stream = new EventStream();
        Thread publisher = new Thread(() -> stream.end(
                new DistillException(io.grpc.Status.ABORTED.withDescription("job failed"), "job-tck", null)),
                "tck-live-failure");
        publisher.setDaemon(true);
        publisher.start();
        return stream;
    }

    @Override
    public long maxElementsFromPublisher() {
        return EventStreamTckTest.MAX_ELEMENTS;
    }

    /** As in {@link EventStreamTckTest}: a skipped optional test is a failed one. */
    @AfterClass(alwaysRun = true)
    public void onlyTheExpectedTestsWereSkipped(ITestContext context) {
        EventStreamTckTest.requireOnlyAllowedSkips(context, getClass());
    }
}
