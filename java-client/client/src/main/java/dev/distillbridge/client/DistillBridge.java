package dev.distillbridge.client;

import dev.distillbridge.client.internal.BearerTokenCredentials;
import dev.distillbridge.client.internal.GrpcJobRunner;
import dev.distillbridge.client.internal.Problems;
import dev.distillbridge.client.internal.RetryPolicy;
import dev.distillbridge.client.internal.Rpc;
import dev.distillbridge.client.internal.TlsFailureHints;
import dev.distillbridge.client.internal.Uploader;
import dev.distillbridge.debug.DebugConnection;
import dev.distillbridge.proto.v1.CancelJobRequest;
import dev.distillbridge.proto.v1.DeleteJobRequest;
import dev.distillbridge.proto.v1.DeleteUploadRequest;
import dev.distillbridge.proto.v1.GetJobRequest;
import dev.distillbridge.proto.v1.ListDatasetsRequest;
import dev.distillbridge.proto.v1.ListJobsRequest;
import dev.distillbridge.proto.v1.ListTeachersRequest;
import dev.distillbridge.proto.v1.ListUploadsRequest;
import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * try (DistillBridge bridge = DistillBridge.connect("models.internal:50051")) {   // TLS, system CAs
 *     bridge.listTeachers().forEach(System.out::println);
 *     DistillationResult result = bridge.newDistiller()...distill(dataset, params);
 * }
 * }</pre>
 *
 * <p>Connections use TLS unless the caller says {@link Builder#usePlaintext()}. A server with a
 * token, a private CA and client certificates:
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
 * <p>A local server started without {@code --tls-cert} (development, tests):
 *
 * <pre>{@code
 * DistillBridge bridge = DistillBridge.builder("localhost:50051").usePlaintext().build();
 * }</pre>
 *
 * <p>Thread-safe; create one per server and share it. {@link #connect(String)} and
 * {@link #builder(String)} open (and {@link #close()} shuts down) their own channel;
 * {@link #forChannel(Channel)} uses a channel the caller configured and leaves it open on close.
 */
public final class DistillBridge implements AutoCloseable {
    /** Timeout of each unary call (catalogues, submit, get, cancel) unless one is given. */
    public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(60);

    /** Attempts in all (first try included) for calls that only read; see {@link #serviceConfig()}. */
    public static final int DEFAULT_MAX_ATTEMPTS = 4;
    /** Backoff before the first retry of a read-only call. */
    public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofMillis(200);
    /** Longest backoff between retries of a read-only call. */
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(5);
    /**
     * Interval of HTTP/2 keepalive pings while a call is open (a long WatchJob, say). The Python
     * server accepts pings every 20 s or more ({@code grpc.http2.min_recv_ping_interval_without_data_ms});
     * one pinging more often is told GOAWAY {@code too_many_pings}.
     */
    public static final Duration DEFAULT_KEEPALIVE_TIME = Duration.ofSeconds(30);
    /** The shortest keepalive interval the Python server accepts. */
    public static final Duration MIN_KEEPALIVE_TIME = Duration.ofSeconds(20);
    /** How long a keepalive ping may go unanswered before the connection is considered dead. */
    public static final Duration DEFAULT_KEEPALIVE_TIMEOUT = Duration.ofSeconds(10);

    private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(5);
    private static final String SERVICE = "distillbridge.v1.DistillerService";
    private static final List<String> IDEMPOTENT_METHODS =
            List.of("ListTeachers", "ListDatasets", "ListJobs", "GetJob", "ListUploads", "WatchJob", "DownloadArtifact");

    private final ManagedChannel ownedChannel;
    private final Rpc rpc;
    private final GrpcJobRunner jobs;
    private final ExecutorService asyncExecutor;

    DistillBridge(Channel channel, ManagedChannel ownedChannel, Duration callTimeout, RetryPolicy retry) {
        Objects.requireNonNull(channel, "channel");
        if (callTimeout.isNegative() || callTimeout.isZero()) {
            throw new IllegalArgumentException("callTimeout must be positive, got " + callTimeout);
        }
        this.ownedChannel = ownedChannel;
        this.rpc = new Rpc(channel, callTimeout, retry);
        this.jobs = new GrpcJobRunner(rpc);
        this.asyncExecutor = Executors.newCachedThreadPool(daemonThreads());
    }

    /**
     * Connects to {@code target} (e.g. {@code "models.internal:50051"}) over TLS, trusting the
     * JVM's default certificate authorities. A server without {@code --tls-cert} is not reachable
     * this way (calls fail {@code UNAVAILABLE}, naming {@link Builder#usePlaintext()}); use
     * {@code builder(target).usePlaintext().build()} for one, and {@link #builder(String)} for a
     * token, a private CA or client certificates.
     */
    public static DistillBridge connect(String target) {
        return connect(target, DEFAULT_CALL_TIMEOUT);
    }

    /**
     * Connects to {@code target} over TLS with the system's CAs, like {@link #connect(String)}.
     *
     * @param callTimeout timeout of each unary call; long-running calls (watching a job,
     *     downloading) are bounded by {@link Distiller#setTimeout(Duration)} instead
     */
    public static DistillBridge connect(String target, Duration callTimeout) {
        return builder(target).callTimeout(callTimeout).build();
    }

    /**
     * Options for a connection: TLS (the default) or {@link Builder#usePlaintext()}, a private CA,
     * a client certificate, a bearer token, timeouts, keepalive and retries.
     */
    public static Builder builder(String target) {
        return new Builder(target);
    }

    /**
     * The gRPC service config this client's own channels use: calls that only read
     * ({@code ListTeachers}, {@code ListDatasets}, {@code ListJobs}, {@code GetJob},
     * {@code ListUploads}, and the streams {@code WatchJob} and {@code DownloadArtifact} before
     * their first message) are retried on {@code UNAVAILABLE}, up to
     * {@value #DEFAULT_MAX_ATTEMPTS} attempts with exponential backoff from
     * {@link #DEFAULT_INITIAL_BACKOFF} to {@link #DEFAULT_MAX_BACKOFF}. {@code SubmitJob},
     * {@code CancelJob}, {@code DeleteJob}, {@code DeleteUpload} and uploads are never retried. Give it to a channel you build yourself:
     *
     * <pre>{@code
     * ManagedChannel channel = Grpc.newChannelBuilder(target, credentials)
     *     .defaultServiceConfig(DistillBridge.serviceConfig()).enableRetry()
     *     .keepAliveTime(30, TimeUnit.SECONDS)
     *     .build();
     * DistillBridge bridge = DistillBridge.forChannel(channel);
     * }</pre>
     */
    public static Map<String, ?> serviceConfig() {
        return serviceConfig(DEFAULT_MAX_ATTEMPTS, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF);
    }

    /**
     * Like {@link #serviceConfig()} with other retry settings.
     *
     * @param maxAttempts attempts in all, 1 (no retry) to 5 (grpc-java's cap)
     * @throws IllegalArgumentException naming the bad value
     */
    public static Map<String, ?> serviceConfig(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
        Problems problems = new Problems();
        if (maxAttempts < 1 || maxAttempts > 5) {
            problems.add("maxAttempts", "must be in [1, 5], got " + maxAttempts);
        }
        requirePositive(problems, "initialBackoff", initialBackoff);
        requirePositive(problems, "maxBackoff", maxBackoff);
        if (initialBackoff != null && maxBackoff != null && maxBackoff.compareTo(initialBackoff) < 0) {
            problems.add("maxBackoff", "must be >= initialBackoff " + initialBackoff + ", got " + maxBackoff);
        }
        problems.throwIfAny(IllegalArgumentException::new);
        List<Map<String, String>> names = IDEMPOTENT_METHODS.stream()
                .map(method -> Map.of("service", SERVICE, "method", method)).toList();
        Map<String, Object> methodConfig = new LinkedHashMap<>();
        methodConfig.put("name", names);
        if (maxAttempts > 1) {
            methodConfig.put("retryPolicy", Map.of(
                    "maxAttempts", (double) maxAttempts,
                    "initialBackoff", seconds(initialBackoff),
                    "maxBackoff", seconds(maxBackoff),
                    "backoffMultiplier", 2.0,
                    "retryableStatusCodes", List.of("UNAVAILABLE")));
        }
        return Map.of("methodConfig", List.of(methodConfig));
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
        return new Distiller(jobs, asyncExecutor);
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
                rpc.unary(jobId, stub -> stub.getJob(GetJobRequest.newBuilder().setJobId(jobId).build())),
                jobs::artifacts);
    }

    /**
     * Asks the server to cancel a job; returns its state after the request.
     *
     * @throws DistillException NOT_FOUND for an unknown id
     */
    public JobInfo cancelJob(String jobId) {
        return JobInfo.fromProto(
                rpc.unary(jobId, stub -> stub.cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build())),
                jobs::artifacts);
    }

    /**
     * Deletes a finished (succeeded, failed or cancelled) job from the server: its record, its
     * events and its artifact files. Download what you need first; afterwards {@link #getJob}
     * answers NOT_FOUND.
     *
     * @return bytes of artifact files removed from the server's disk
     * @throws DistillException FAILED_PRECONDITION while the job is queued or running ({@link
     *     #cancelJob(String) cancel} it first), NOT_FOUND for an unknown id, INVALID_ARGUMENT for
     *     an empty one
     */
    public long deleteJob(String jobId) {
        Objects.requireNonNull(jobId, "jobId");
        return rpc.unary(jobId, stub -> stub.deleteJob(DeleteJobRequest.newBuilder().setJobId(jobId).build()))
                .getFreedBytes();
    }

    /**
     * Every file stored on the server by an upload, oldest first, each naming the queued or
     * running jobs that still need it.
     */
    public List<UploadInfo> listUploads() {
        return listUploads(ListUploadsRequest.getDefaultInstance());
    }

    /** The stored uploads of one kind, oldest first; see {@link #listUploads()}. */
    public List<UploadInfo> listUploads(UploadKind kind) {
        return listUploads(ListUploadsRequest.newBuilder().setKind(Objects.requireNonNull(kind, "kind").toProto())
                .build());
    }

    /**
     * Deletes a stored upload from the server.
     *
     * @return bytes removed from the server's disk (an unpacked zip counts what it unpacked to)
     * @throws DistillException FAILED_PRECONDITION while a queued or running job references it
     *     (the message names the jobs; see {@link UploadInfo#activeJobIds()}), NOT_FOUND for an
     *     unknown id, INVALID_ARGUMENT for an empty one
     */
    public long deleteUpload(String uploadId) {
        Objects.requireNonNull(uploadId, "uploadId");
        return rpc.unary(null, stub -> stub.deleteUpload(DeleteUploadRequest.newBuilder().setUploadId(uploadId)
                .build())).getFreedBytes();
    }

    /**
     * Follows an already submitted job (e.g. after a restart) from its first event until it
     * ends, like {@link Distiller#distill}.
     *
     * @param listener receives every event, replayed ones included
     */
    public DistillationResult watchJob(String jobId, Consumer<DistillEvent> listener) {
        return JobEvents.follow(jobs, Objects.requireNonNull(jobId, "jobId"), null,
                List.of(Objects.requireNonNull(listener, "listener")));
    }

    /**
     * Uploads a local file now and returns its upload id. Package-private: callers name a file
     * with {@code Teacher.upload(Path)} / {@code Dataset.upload(Path)} and the job uploads it;
     * tests use this to know an id in advance.
     */
    String upload(dev.distillbridge.proto.v1.UploadKind kind, Path file) {
        return Uploader.upload(rpc, kind, file, null);
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
     * Configures a {@link DistillBridge}. TLS with the JVM's default CAs unless
     * {@link #usePlaintext()} is called; each option is checked (files readable, pairs complete,
     * no contradiction) when {@link #build()} is called.
     */
    public static final class Builder {
        private final String target;
        private String bearerToken;
        private boolean allowInsecureBearerToken;
        private boolean plaintext;
        private Path trustCertificate;
        private Path clientCertificate;
        private Path clientKey;
        private Duration callTimeout = DEFAULT_CALL_TIMEOUT;
        private Duration keepAliveTime = DEFAULT_KEEPALIVE_TIME;
        private Duration keepAliveTimeout = DEFAULT_KEEPALIVE_TIMEOUT;
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private Duration initialBackoff = DEFAULT_INITIAL_BACKOFF;
        private Duration maxBackoff = DEFAULT_MAX_BACKOFF;

        private Builder(String target) {
            this.target = Objects.requireNonNull(target, "target");
        }

        /**
         * Sends {@code authorization: Bearer <token>} with every call (the server's
         * {@code --auth-token-file}), as gRPC call credentials: over a connection without TLS
         * each call fails {@code UNAUTHENTICATED} before the token leaves the JVM, unless
         * {@link #allowInsecureBearerToken()} was called.
         */
        public Builder bearerToken(String token) {
            this.bearerToken = Objects.requireNonNull(token, "token");
            return this;
        }

        /**
         * Lets {@link #bearerToken(String)} be sent over a plaintext connection
         * ({@link #usePlaintext()}), where anyone on the path can read it. For loopback and
         * tests; never across a network.
         */
        public Builder allowInsecureBearerToken() {
            this.allowInsecureBearerToken = true;
            return this;
        }

        /**
         * Talks plaintext HTTP/2 instead of TLS: for a server started without {@code --tls-cert},
         * e.g. on localhost. Cannot be combined with {@link #trustCertificate(Path)} or
         * {@link #clientCertificate(Path, Path)}; a bearer token is then refused unless
         * {@link #allowInsecureBearerToken()} is called too.
         */
        public Builder usePlaintext() {
            this.plaintext = true;
            return this;
        }

        /** Trusts the CA (or self-signed certificate) in this PEM file instead of the JVM's default CAs. */
        public Builder trustCertificate(Path pemFile) {
            this.trustCertificate = Objects.requireNonNull(pemFile, "pemFile");
            return this;
        }

        /** Presents this client certificate (PEM chain and PKCS#8 PEM key) when the server asks for one. */
        public Builder clientCertificate(Path certificateChain, Path privateKey) {
            this.clientCertificate = Objects.requireNonNull(certificateChain, "certificateChain");
            this.clientKey = Objects.requireNonNull(privateKey, "privateKey");
            return this;
        }

        /** Timeout of each unary call (default {@link #DEFAULT_CALL_TIMEOUT}). */
        public Builder callTimeout(Duration timeout) {
            this.callTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /**
         * HTTP/2 keepalive while calls are open: a ping every {@code time} (at least
         * {@link #MIN_KEEPALIVE_TIME}, which the Python server permits; default
         * {@link #DEFAULT_KEEPALIVE_TIME}), the connection dropped when one is not answered
         * within {@code timeout} (default {@link #DEFAULT_KEEPALIVE_TIMEOUT}).
         */
        public Builder keepAlive(Duration time, Duration timeout) {
            this.keepAliveTime = Objects.requireNonNull(time, "time");
            this.keepAliveTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /**
         * Retries of read-only calls on {@code UNAVAILABLE} (see {@link #serviceConfig()}):
         * {@code maxAttempts} in all, 1 to turn retries off, 5 at most.
         */
        public Builder retry(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
            this.maxAttempts = maxAttempts;
            this.initialBackoff = initialBackoff;
            this.maxBackoff = maxBackoff;
            return this;
        }

        /**
         * Opens the channel.
         *
         * @throws IllegalArgumentException naming the option: a non-positive timeout, a
         *     keepalive under {@link #MIN_KEEPALIVE_TIME}, bad retry settings, a blank token,
         *     {@link #usePlaintext()} with a certificate, or a certificate or key file that
         *     cannot be read
         */
        public DistillBridge build() {
            Problems problems = new Problems();
            requirePositive(problems, "callTimeout", callTimeout);
            requirePositive(problems, "keepAliveTimeout", keepAliveTimeout);
            if (keepAliveTime.compareTo(MIN_KEEPALIVE_TIME) < 0) {
                problems.add("keepAliveTime", "must be >= " + MIN_KEEPALIVE_TIME
                        + " (the Python server refuses more frequent pings), got " + keepAliveTime);
            }
            if (bearerToken != null && bearerToken.isBlank()) {
                problems.add("bearerToken", "must not be blank");
            }
            if (plaintext && (trustCertificate != null || clientCertificate != null)) {
                problems.add("usePlaintext", "cannot be combined with trustCertificate or clientCertificate"
                        + " (both are TLS); drop one");
            }
            for (Path file : new Path[] {trustCertificate, clientCertificate, clientKey}) {
                if (file != null && !Files.isReadable(file)) {
                    problems.add(file == trustCertificate ? "trustCertificate" : "clientCertificate",
                            "cannot read " + file);
                }
            }
            problems.throwIfAny(IllegalArgumentException::new);
            Map<String, ?> serviceConfig = serviceConfig(maxAttempts, initialBackoff, maxBackoff);
            ManagedChannelBuilder<?> builder = Grpc.newChannelBuilder(target, channelCredentials())
                    .maxInboundMessageSize(Rpc.MAX_INBOUND_MESSAGE_BYTES)
                    .defaultServiceConfig(serviceConfig)
                    .keepAliveTime(keepAliveTime.toNanos(), TimeUnit.NANOSECONDS)
                    .keepAliveTimeout(keepAliveTimeout.toNanos(), TimeUnit.NANOSECONDS);
            if (maxAttempts > 1) {
                builder.enableRetry();
            } else {
                builder.disableRetry();
            }
            if (!plaintext) {
                builder.intercept(new TlsFailureHints());
            }
            ManagedChannel channel = builder.build();
            Channel calls = bearerToken == null ? channel
                    : withCallCredentials(channel, new BearerTokenCredentials(bearerToken, allowInsecureBearerToken));
            return new DistillBridge(calls, channel, callTimeout, RetryPolicy.DEFAULT);
        }

        private ChannelCredentials channelCredentials() {
            if (plaintext) {
                return InsecureChannelCredentials.create();
            }
            TlsChannelCredentials.Builder creds = TlsChannelCredentials.newBuilder();
            try {
                if (trustCertificate != null) {
                    creds.trustManager(trustCertificate.toFile());
                }
                if (clientCertificate != null) {
                    creds.keyManager(clientCertificate.toFile(), clientKey.toFile());
                }
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException("cannot load the TLS certificate or key ("
                        + (trustCertificate == null ? "" : "trustCertificate " + trustCertificate + " ")
                        + (clientCertificate == null ? "" : "clientCertificate " + clientCertificate + " " + clientKey)
                        + "): " + e.getMessage(), e);
            }
            return creds.build();
        }
    }

    /** Every call on {@code channel} carries {@code credentials}. */
    private static Channel withCallCredentials(Channel channel, CallCredentials credentials) {
        return ClientInterceptors.intercept(channel, new ClientInterceptor() {
            @Override
            public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(MethodDescriptor<ReqT, RespT> method,
                    CallOptions callOptions, Channel next) {
                return next.newCall(method, callOptions.withCallCredentials(credentials));
            }
        });
    }

    private static void requirePositive(Problems problems, String field, Duration value) {
        if (value == null) {
            problems.add(field, "must not be null");
        } else if (value.isNegative() || value.isZero()) {
            problems.add(field, "must be positive, got " + value);
        }
    }

    private static String seconds(Duration d) {
        return BigDecimal.valueOf(d.getSeconds()).add(BigDecimal.valueOf(d.getNano(), 9)).stripTrailingZeros()
                .toPlainString() + "s";
    }

    private List<JobInfo> listJobs(ListJobsRequest request) {
        return rpc.unary(null, stub -> stub.listJobs(request))
                .getJobsList().stream().map(job -> JobInfo.fromProto(job, jobs::artifacts)).toList();
    }

    private List<UploadInfo> listUploads(ListUploadsRequest request) {
        return rpc.unary(null, stub -> stub.listUploads(request))
                .getUploadsList().stream().map(UploadInfo::fromProto).toList();
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
