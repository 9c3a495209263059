package dev.distillbridge.client;

import dev.distillbridge.proto.v1.CancelJobRequest;
import dev.distillbridge.proto.v1.GetJobRequest;
import dev.distillbridge.proto.v1.ListDatasetsRequest;
import dev.distillbridge.proto.v1.ListJobsRequest;
import dev.distillbridge.proto.v1.ListTeachersRequest;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A connection to a Distill Bridge server: the entry point of the client.
 *
 * <pre>{@code
 * try (DistillBridge bridge = DistillBridge.connect("localhost:50051")) {
 *     bridge.listTeachers().forEach(System.out::println);
 *     DistillationResult result = bridge.newDistiller()...distill(dataset, params);
 * }
 * }</pre>
 *
 * <p>A server with a token and TLS:
 *
 * <pre>{@code
 * DistillBridge bridge = DistillBridge.builder("models.internal:50051")
 *     .bearerToken(System.getenv("DISTILL_BRIDGE_TOKEN"))
 *     .trustCertificate(Path.of("/etc/distill/ca.pem"))
 *     .clientCertificate(Path.of("client.pem"), Path.of("client.key"))   // when the server asks
 *     .callTimeout(Duration.ofSeconds(30))
 *     .build();
 * }</pre>
 *
 * <p>Thread-safe; create one per server and share it. {@link #connect(String)} and
 * {@link #builder(String)} open (and {@link #close()} shuts down) their own channel;
 * {@link #forChannel(Channel)} uses a channel the caller configured and leaves it open on close.
 */
public final class DistillBridge implements AutoCloseable {
    /** Timeout of each unary call (catalogues, submit, get, cancel) unless one is given. */
    public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(60);

    private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(5);

    private final ManagedChannel ownedChannel;
    private final Rpc rpc;
    private final ExecutorService asyncExecutor;

    DistillBridge(Channel channel, ManagedChannel ownedChannel, Duration callTimeout, RetryPolicy retry) {
        Objects.requireNonNull(channel, "channel");
        if (callTimeout.isNegative() || callTimeout.isZero()) {
            throw new IllegalArgumentException("callTimeout must be positive, got " + callTimeout);
        }
        this.ownedChannel = ownedChannel;
        this.rpc = new Rpc(channel, callTimeout, retry);
        this.asyncExecutor = Executors.newCachedThreadPool(daemonThreads());
    }

    /** Connects in plaintext to {@code target} (e.g. {@code "localhost:50051"}). */
    public static DistillBridge connect(String target) {
        return connect(target, DEFAULT_CALL_TIMEOUT);
    }

    /**
     * Connects in plaintext to {@code target}.
     *
     * @param callTimeout timeout of each unary call; long-running calls (watching a job,
     *     downloading) are bounded by {@link Distiller#setTimeout(Duration)} instead
     */
    public static DistillBridge connect(String target, Duration callTimeout) {
        ManagedChannel channel = Grpc.newChannelBuilder(Objects.requireNonNull(target, "target"),
                        InsecureChannelCredentials.create())
                .maxInboundMessageSize(Rpc.MAX_INBOUND_MESSAGE_BYTES)
                .build();
        return new DistillBridge(channel, channel, callTimeout, RetryPolicy.DEFAULT);
    }

    /** Options for a connection: bearer token, TLS, client certificate, call timeout. */
    public static Builder builder(String target) {
        return new Builder(target);
    }

    /** Uses a channel the caller owns; {@link #close()} does not shut it down. */
    public static DistillBridge forChannel(Channel channel) {
        return forChannel(channel, DEFAULT_CALL_TIMEOUT);
    }

    /** Uses a channel the caller owns, with this timeout for each unary call. */
    public static DistillBridge forChannel(Channel channel, Duration callTimeout) {
        return new DistillBridge(channel, null, callTimeout, RetryPolicy.DEFAULT);
    }

    /**
     * Connects over Py4J to a local {@code distill-bridge debug-server} listening on
     * 127.0.0.1:{@code port}: the same {@code newDistiller()} API, but jobs run inside that
     * Python process so its breakpoints hit. Development only.
     *
     * @param authToken the token the debug server wrote to its connection file
     */
    public static DebugConnection debug(int port, String authToken) {
        return DebugConnection.open(port, authToken);
    }

    /**
     * Like {@link #debug(int, String)}, reading port and token from the connection file the
     * debug server wrote (default {@code $DISTILL_BRIDGE_HOME/debug-server.json}).
     */
    public static DebugConnection debug(Path connectionFile) {
        return DebugConnection.open(Objects.requireNonNull(connectionFile, "connectionFile"));
    }

    /** A new job description; see {@link Distiller}. */
    public Distiller newDistiller() {
        return new Distiller(new GrpcJobRunner(rpc), asyncExecutor);
    }

    /** The server's teacher zoo. */
    public List<TeacherInfo> listTeachers() {
        return rpc.unary(null, stub -> stub.listTeachers(ListTeachersRequest.getDefaultInstance()))
                .getTeachersList().stream().map(TeacherInfo::fromProto).toList();
    }

    /** The server's built-in datasets. */
    public List<DatasetInfo> listDatasets() {
        return rpc.unary(null, stub -> stub.listDatasets(ListDatasetsRequest.getDefaultInstance()))
                .getDatasetsList().stream().map(DatasetInfo::fromProto).toList();
    }

    /** Every job the server knows. */
    public List<JobInfo> listJobs() {
        return listJobs(ListJobsRequest.getDefaultInstance());
    }

    /** The jobs in one state. */
    public List<JobInfo> listJobs(JobState state) {
        return listJobs(ListJobsRequest.newBuilder().setState(Objects.requireNonNull(state, "state").toProto()).build());
    }

    /**
     * A job's current state.
     *
     * @throws DistillException NOT_FOUND for an unknown id
     */
    public JobInfo getJob(String jobId) {
        return JobInfo.fromProto(
                rpc.unary(jobId, stub -> stub.getJob(GetJobRequest.newBuilder().setJobId(jobId).build())), rpc);
    }

    /**
     * Asks the server to cancel a job; returns its state after the request.
     *
     * @throws DistillException NOT_FOUND for an unknown id
     */
    public JobInfo cancelJob(String jobId) {
        return JobInfo.fromProto(
                rpc.unary(jobId, stub -> stub.cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build())), rpc);
    }

    /**
     * Follows an already submitted job (e.g. after a restart) from its first event until it
     * ends, like {@link Distiller#distill}.
     *
     * @param listener receives every event, replayed ones included
     */
    public DistillationResult watchJob(String jobId, Consumer<DistillEvent> listener) {
        return new JobWatcher(rpc, Objects.requireNonNull(jobId, "jobId"), null,
                List.of(Objects.requireNonNull(listener, "listener"))).await();
    }

    /**
     * Stops the async executor and, when this bridge opened its channel, shuts the channel down
     * and waits (briefly) for calls in flight to end.
     */
    @Override
    public void close() {
        asyncExecutor.shutdown();
        if (ownedChannel == null) {
            return;
        }
        ownedChannel.shutdown();
        try {
            if (!ownedChannel.awaitTermination(SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                ownedChannel.shutdownNow().awaitTermination(SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            ownedChannel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Configures a {@link DistillBridge}. Plaintext unless a TLS option is set; each option is
     * checked (files readable, pairs complete) when {@link #build()} is called.
     */
    public static final class Builder {
        private final String target;
        private String bearerToken;
        private boolean tls;
        private Path trustCertificate;
        private Path clientCertificate;
        private Path clientKey;
        private Duration callTimeout = DEFAULT_CALL_TIMEOUT;

        private Builder(String target) {
            this.target = Objects.requireNonNull(target, "target");
        }

        /** Sends {@code authorization: Bearer <token>} with every call (the server's --auth-token-file). */
        public Builder bearerToken(String token) {
            this.bearerToken = Objects.requireNonNull(token, "token");
            return this;
        }

        /** Uses TLS, trusting the JVM's default certificate authorities. */
        public Builder useTls() {
            this.tls = true;
            return this;
        }

        /** Uses TLS, trusting the CA (or self-signed certificate) in this PEM file. */
        public Builder trustCertificate(Path pemFile) {
            this.trustCertificate = Objects.requireNonNull(pemFile, "pemFile");
            this.tls = true;
            return this;
        }

        /** Presents this client certificate (PEM chain and PKCS#8 PEM key); implies TLS. */
        public Builder clientCertificate(Path certificateChain, Path privateKey) {
            this.clientCertificate = Objects.requireNonNull(certificateChain, "certificateChain");
            this.clientKey = Objects.requireNonNull(privateKey, "privateKey");
            this.tls = true;
            return this;
        }

        /** Timeout of each unary call (default {@link #DEFAULT_CALL_TIMEOUT}). */
        public Builder callTimeout(Duration timeout) {
            this.callTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /**
         * Opens the channel.
         *
         * @throws IllegalArgumentException for a non-positive timeout, a blank token or an
         *     unreadable certificate or key file
         */
        public DistillBridge build() {
            if (callTimeout.isNegative() || callTimeout.isZero()) {
                throw new IllegalArgumentException("callTimeout must be positive, got " + callTimeout);
            }
            if (bearerToken != null && bearerToken.isBlank()) {
                throw new IllegalArgumentException("bearerToken must not be blank");
            }
            ManagedChannelBuilder<?> builder = Grpc.newChannelBuilder(target, credentials())
                    .maxInboundMessageSize(Rpc.MAX_INBOUND_MESSAGE_BYTES);
            if (bearerToken != null) {
                Metadata headers = new Metadata();
                headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + bearerToken);
                builder.intercept(MetadataUtils.newAttachHeadersInterceptor(headers));
            }
            ManagedChannel channel = builder.build();
            return new DistillBridge(channel, channel, callTimeout, RetryPolicy.DEFAULT);
        }

        private ChannelCredentials credentials() {
            if (!tls) {
                return InsecureChannelCredentials.create();
            }
            TlsChannelCredentials.Builder creds = TlsChannelCredentials.newBuilder();
            try {
                if (trustCertificate != null) {
                    creds.trustManager(readable(trustCertificate).toFile());
                }
                if (clientCertificate != null) {
                    creds.keyManager(readable(clientCertificate).toFile(), readable(clientKey).toFile());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot load TLS material", e);
            }
            return creds.build();
        }

        private static Path readable(Path file) {
            if (!Files.isReadable(file)) {
                throw new IllegalArgumentException("cannot read " + file);
            }
            return file;
        }
    }

    private List<JobInfo> listJobs(ListJobsRequest request) {
        return rpc.unary(null, stub -> stub.listJobs(request))
                .getJobsList().stream().map(job -> JobInfo.fromProto(job, rpc)).toList();
    }

    private static ThreadFactory daemonThreads() {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, "distill-bridge-async-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
