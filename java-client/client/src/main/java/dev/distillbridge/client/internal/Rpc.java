package dev.distillbridge.client.internal;

import dev.distillbridge.client.DistillException;
import dev.distillbridge.proto.v1.DistillerServiceGrpc;
import dev.distillbridge.proto.v1.DistillerServiceGrpc.DistillerServiceBlockingStub;
import dev.distillbridge.proto.v1.DistillerServiceGrpc.DistillerServiceStub;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What every part of the client needs to call the server: the stub, the unary-call timeout and
 * the retry policy for broken streams. Immutable and shared.
 */
public final class Rpc {
    /** Job results carry the manifest (with golden vectors) inline: allow more than the 4 MiB default. */
    public static final int MAX_INBOUND_MESSAGE_BYTES = 64 * 1024 * 1024;

    private final DistillerServiceBlockingStub stub;
    private final DistillerServiceStub asyncStub;
    private final Duration callTimeout;
    private final RetryPolicy retry;

    public Rpc(Channel channel, Duration callTimeout, RetryPolicy retry) {
        this.stub = DistillerServiceGrpc.newBlockingStub(channel).withMaxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES);
        this.asyncStub = DistillerServiceGrpc.newStub(channel);
        this.callTimeout = callTimeout;
        this.retry = retry;
    }

    public RetryPolicy retry() {
        return retry;
    }

    /** Runs one unary call under the call timeout; a failure becomes a {@link DistillException}. */
    public <T> T unary(String jobId, Function<DistillerServiceBlockingStub, T> call) {
        return unary(jobId, null, call);
    }

    /** Like {@link #unary(String, Function)}, ending by {@code bound} if that comes first. */
    public <T> T unary(String jobId, Deadline bound, Function<DistillerServiceBlockingStub, T> call) {
        Deadline deadline = Deadline.after(callTimeout.toNanos(), TimeUnit.NANOSECONDS);
        try {
            return call.apply(stub.withDeadline(bound == null ? deadline : deadline.minimum(bound)));
        } catch (StatusRuntimeException e) {
            throw DistillException.fromRpc(e, jobId);
        }
    }

    /** The async stub, for client-streaming uploads; bounded by {@code deadline} when not null. */
    public DistillerServiceStub async(Deadline deadline) {
        return deadline == null ? asyncStub : asyncStub.withDeadline(deadline);
    }

    /** The stub for a streaming call, bounded by {@code deadline} when it is not null. */
    public DistillerServiceBlockingStub streaming(Deadline deadline) {
        return deadline == null ? stub : stub.withDeadline(deadline);
    }

    /**
     * Runs {@code body} in a cancellable gRPC context and cancels it on the way out, so a
     * streaming call whose iterator was not drained is not left open.
     */
    public static <T> T inCancellableContext(Supplier<T> body) {
        Context.CancellableContext context = Context.current().withCancellation();
        Context previous = context.attach();
        try {
            return body.get();
        } finally {
            context.detach(previous);
            context.cancel(null);
        }
    }
}
