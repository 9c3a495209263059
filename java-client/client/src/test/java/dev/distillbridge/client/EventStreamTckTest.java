package dev.distillbridge.client;

import java.util.List;
import java.util.Set;
import java.util.concurrent.Flow;
import org.reactivestreams.tck.TestEnvironment;
import org.reactivestreams.tck.flow.FlowPublisherVerification;
import org.testng.ITestContext;
import org.testng.annotations.AfterClass;

/**
 * The Reactive Streams TCK (TestNG, run on the JUnit Platform by the TestNG engine) against the
 * publisher behind {@link DistillationJob#events()}, as a subscriber finds it after the job
 * ended: every event is replayed, then onComplete (or onError for a failed job). Its sibling
 * {@link LiveEventStreamTckTest} subscribes while the events are still being published.
 */
public class EventStreamTckTest extends FlowPublisherVerification<DistillEvent> {
    /**
     * The stream keeps every event for replay, so it is finite by design: the TCK test that
     * needs {@code Integer.MAX_VALUE} elements (rule 3.17, pending demand above
     * {@code Long.MAX_VALUE}) is skipped, as the TCK does for publishers that declare a bound.
     * A real job has thousands of events at most.
     */
    static final long MAX_ELEMENTS = 1 << 16;

    /**
     * The TCK tests that may be skipped: the one above, and those the TCK itself marks
     * {@code untested_} (it has no test for those rules and always skips them).
     */
    static final Set<String> ALLOWED_SKIPS = Set.of("required_spec317_mustNotSignalOnErrorWhenPendingAboveLongMaxValue");

    public EventStreamTckTest() {
        // generous timeouts: the test machine is shared
        super(new TestEnvironment(1_000, 200), 2_000);
    }

    @Override
    public Flow.Publisher<DistillEvent> createFlowPublisher(long elements) {
        EventStream stream = new EventStream();
        for (long i = 0; i < elements; i++) {
            stream.publish(event(i));
        }
        stream.end(null);
        return stream;
    }

    /** A failed job: no event, then onError after onSubscribe (rule 1.9). */
    @Override
    public Flow.Publisher<DistillEvent> createFailedFlowPublisher() {
        EventStream stream = new EventStream();
        stream.end(new DistillException(io.grpc.Status.ABORTED.withDescription("job failed"), "job-tck", null));
        return stream;
    }

    @Override
    public long maxElementsFromPublisher() {
        return MAX_ELEMENTS;
    }

    /** Fails the class when the TCK skipped anything else (it reports a failed optional test as skipped). */
    @AfterClass(alwaysRun = true)
    public void onlyTheExpectedTestsWereSkipped(ITestContext context) {
        requireOnlyAllowedSkips(context, getClass());
    }

    static void requireOnlyAllowedSkips(ITestContext context, Class<?> verification) {
        List<String> unexpected = context.getSkippedTests().getAllResults().stream()
                .filter(r -> r.getTestClass().getRealClass() == verification)
                .map(r -> r.getMethod().getMethodName())
                .filter(name -> !name.startsWith("untested_") && !ALLOWED_SKIPS.contains(name))
                .sorted().toList();
        if (!unexpected.isEmpty()) {
            throw new AssertionError(verification.getSimpleName() + ": the TCK skipped " + unexpected
                    + "; it skips an optional test that fails, so these are failures");
        }
    }

    static DistillEvent event(long sequence) {
        return new DistillEvent(DistillEvent.Kind.LOG, "job-tck", sequence, null, "", "line " + sequence, "INFO",
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, null, null, null);
    }
}
