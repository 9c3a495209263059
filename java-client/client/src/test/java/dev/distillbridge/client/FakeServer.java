package dev.distillbridge.client;

import dev.distillbridge.client.internal.RetryPolicy;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** An in-process server running a {@link FakeDistillerService}, and a bridge connected to it. */
final class FakeServer implements AutoCloseable {
    /** Retries fast so tests that break streams stay fast. */
    static final RetryPolicy FAST_RETRY = new RetryPolicy(3, Duration.ofMillis(1), Duration.ofMillis(10));

    final FakeDistillerService service = new FakeDistillerService();
    final DistillBridge bridge;
    private final Server server;
    private final ManagedChannel channel;

    FakeServer() {
        this(null);
    }

    /** With a service config on the channel (and retries enabled), or none when null. */
    FakeServer(Map<String, ?> serviceConfig) {
        String name = InProcessServerBuilder.generateName();
        try {
            server = InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        InProcessChannelBuilder channelBuilder = InProcessChannelBuilder.forName(name).directExecutor();
        if (serviceConfig != null) {
            channelBuilder.defaultServiceConfig(serviceConfig).enableRetry();
        }
        channel = channelBuilder.build();
        bridge = new DistillBridge(channel, null, Duration.ofSeconds(10), FAST_RETRY);
    }

    /** The in-process channel, for a second bridge with other settings. */
    ManagedChannel channel() {
        return channel;
    }

    @Override
    public void close() {
        bridge.close();
        try {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
