package dev.distillbridge.debug;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.distillbridge.client.ArtifactVerificationException;
import dev.distillbridge.client.DistillBridge;
import dev.distillbridge.client.DistillException;
import dev.distillbridge.client.Distiller;
import dev.distillbridge.client.internal.ArtifactSource;
import dev.distillbridge.client.internal.JobRunner;
import dev.distillbridge.inference.ArtifactFile;
import dev.distillbridge.inference.ArtifactFiles;
import dev.distillbridge.inference.ModelException;
import dev.distillbridge.proto.v1.DistillSpec;
import dev.distillbridge.proto.v1.FinishedEvent;
import dev.distillbridge.proto.v1.JobEvent;
import io.grpc.Deadline;
import io.grpc.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import py4j.ClientServer;
import py4j.Py4JException;

/**
 * A Py4J connection to a local {@code distill-bridge debug-server}: the same
 * {@link #newDistiller()} as {@link DistillBridge}, but jobs run inside that Python process (no
 * gRPC server, no worker process), so breakpoints set in the Python pipeline hit. For
 * development only: the debug server listens on loopback and requires its auth token.
 *
 * <pre>{@code
 * try (DebugConnection bridge = DistillBridge.debug(Path.of(home, "debug-server.json"))) {
 *     DistillationResult r = bridge.newDistiller().setTeacherModel("digits-mlp")...distill(data, params);
 * }
 * }</pre>
 *
 * <p>Needs {@code net.sf.py4j:py4j} on the classpath (an optional dependency of this client).
 * Cancelling a debug job stops following it; the Python side finishes it. Thread-safe.
 */
public final class DebugConnection implements AutoCloseable {
    private static final long POLL_MILLIS = 1000;

    private final ClientServer clientServer;
    private final DebugGateway gateway;
    private final ExecutorService asyncExecutor = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "distill-bridge-debug");
        thread.setDaemon(true);
        return thread;
    });

    private DebugConnection(ClientServer clientServer, DebugGateway gateway) {
        this.clientServer = clientServer;
        this.gateway = gateway;
    }

    /**
     * Connects to a debug server listening on 127.0.0.1:{@code pythonPort}; the same as
     * {@link DistillBridge#debug(int, String)}.
     *
     * @param authToken the token the debug server wrote to its connection file
     */
    public static DebugConnection open(int pythonPort, String authToken) {
        Objects.requireNonNull(authToken, "authToken");
        InetAddress loopback = InetAddress.getLoopbackAddress();
        // The Python side never calls back into this JVM, so no Java-side server is started.
        ClientServer clientServer = new ClientServer.ClientServerBuilder()
                .autoStartJavaServer(false)
                .javaAddress(loopback)
                .pythonAddress(loopback)
                .pythonPort(pythonPort)
                .authToken(authToken)
                .build();
        DebugGateway gateway = (DebugGateway) clientServer.getPythonServerEntryPoint(new Class<?>[] {DebugGateway.class});
        return new DebugConnection(clientServer, gateway);
    }

    /** Connects with the port and token of a debug server's connection file; see {@link DistillBridge#debug(Path)}. */
    public static DebugConnection open(Path connectionFile) {
        JsonObject json;
        try {
            json = JsonParser.parseString(Files.readString(connectionFile, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read debug-server connection file " + connectionFile, e);
        }
        return open(json.get("port").getAsInt(), json.get("auth_token").getAsString());
    }

    /** A new job description that runs in the debug server's Python process. */
    public Distiller newDistiller() {
        return new Distiller(new Runner(), asyncExecutor);
    }

    /** Closes the Py4J connection; the Python debug server keeps running. */
    @Override
    public void close() {
        asyncExecutor.shutdown();
        clientServer.shutdown();
    }

    /** validate + submit, then polls events until the FinishedEvent; validate + normalize to check. */
    private final class Runner implements JobRunner {
        @Override
        public String submit(DistillSpec spec, LocalFiles localFiles, Deadline deadline) {
            byte[] bytes = checked(spec, localFiles);
            return call(null, () -> gateway.submit(bytes));
        }

        @Override
        public DistillSpec validate(DistillSpec spec, LocalFiles localFiles, Deadline deadline) {
            byte[] bytes = checked(spec, localFiles);
            byte[] normalized = call(null, () -> gateway.normalize(bytes));
            try {
                return DistillSpec.parseFrom(normalized);
            } catch (InvalidProtocolBufferException e) {
                throw new DistillException(Status.INTERNAL.withDescription(
                        "bad normalized spec from the debug server"), null, e);
            }
        }

        /** The serialized spec (local files by path), once the debug server accepted it. */
        private byte[] checked(DistillSpec spec, LocalFiles localFiles) {
            byte[] bytes = local(spec, localFiles).toByteArray();
            String problem = call(null, () -> gateway.validate(bytes));
            if (!problem.isEmpty()) {
                String[] parts = problem.split("\t", 2);
                throw new DistillException(Status.fromCode(Status.Code.valueOf(parts[0]))
                        .withDescription(parts.length > 1 ? parts[1] : problem), null, null);
            }
            return bytes;
        }

        @Override
        public FinishedEvent watch(String jobId, Deadline deadline, Consumer<JobEvent> onEvent) {
            for (long sequence = 0;; ) {
                if (deadline != null && deadline.isExpired()) {
                    throw new DistillException(Status.DEADLINE_EXCEEDED.withDescription(
                            "debug job still running after the timeout"), jobId, null);
                }
                if (Thread.currentThread().isInterrupted()) {
                    throw new DistillException(Status.CANCELLED.withDescription("interrupted"), jobId, null);
                }
                long seq = sequence;
                byte[] raw = call(jobId, () -> gateway.nextEvent(jobId, seq, POLL_MILLIS));
                if (raw == null) {
                    continue;
                }
                JobEvent event = parse(raw, jobId);
                sequence++;
                onEvent.accept(event);
                if (event.hasFinished()) {
                    return event.getFinished();
                }
            }
        }

        @Override
        public ArtifactSource artifacts(String jobId) {
            return (files, manifestJson, dir) -> copyArtifact(jobId, files, dir);
        }

        @Override
        public void cancel(String jobId) {
            // Not supported by the debug server: the future stops following; Python finishes the job.
        }
    }

    /** The debug server runs on this machine: local files are passed by absolute path. */
    private static DistillSpec local(DistillSpec spec, JobRunner.LocalFiles files) {
        DistillSpec.Builder out = spec.toBuilder();
        if (files.teacher() != null) {
            out.setTeacher(spec.getTeacher().toBuilder().setReference(files.teacher().toAbsolutePath().toString()));
        }
        if (files.dataset() != null) {
            out.setDataset(spec.getDataset().toBuilder().setPath(files.dataset().toAbsolutePath().toString()));
        }
        return out.build();
    }

    private Path copyArtifact(String jobId, List<ArtifactFile> files, Path dir) {
        Path source = Path.of(call(jobId, () -> gateway.artifactDirectory(jobId)));
        try {
            Files.createDirectories(dir);
            for (ArtifactFile file : files) {
                Path target = ArtifactFiles.resolve(dir, file.name());
                Files.createDirectories(target.getParent()); // report/ files are nested
                Files.copy(ArtifactFiles.resolve(source, file.name()), target, StandardCopyOption.REPLACE_EXISTING);
                ArtifactFiles.verify(target, file);
            }
        } catch (ModelException e) {
            throw ArtifactVerificationException.of(e, jobId);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy the artifact of " + jobId + " from " + source, e);
        }
        return dir;
    }

    private static JobEvent parse(byte[] raw, String jobId) {
        try {
            return JobEvent.parseFrom(raw);
        } catch (InvalidProtocolBufferException e) {
            throw new DistillException(Status.INTERNAL.withDescription("bad event from the debug server"), jobId, e);
        }
    }

    /** Runs one Py4J call; a broken connection or a Python exception becomes a DistillException. */
    private static <T> T call(String jobId, java.util.function.Supplier<T> body) {
        try {
            return body.get();
        } catch (Py4JException e) {
            throw new DistillException(Status.UNAVAILABLE.withDescription(
                    "debug server call failed: " + e.getMessage()), jobId, e);
        }
    }
}
