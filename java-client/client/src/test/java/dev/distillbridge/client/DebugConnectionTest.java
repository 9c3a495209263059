package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.distillbridge.debug.DebugConnection;
import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.Gates;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.QuantType;
import dev.distillbridge.spec.TrainingParams;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same Java code distills over gRPC (a real {@code distill-bridge serve}) and over Py4J (a
 * real {@code distill-bridge debug-server}); both share one home, so one cached zoo teacher.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DebugConnectionTest {
    private static final Duration STARTUP = Duration.ofSeconds(120);

    @TempDir
    static Path tmp;

    private PythonServer grpcServer;
    private PythonServer debugServer;
    private Path connectionFile;

    @BeforeAll
    void startServers() throws IOException {
        Path python = Path.of(System.getProperty("distillbridge.python", "../.venv/bin/python")).toAbsolutePath();
        Path repoRoot = Path.of(System.getProperty("distillbridge.repoRoot", "..")).toAbsolutePath().normalize();
        Path home = Files.createDirectories(tmp.resolve("home"));
        connectionFile = tmp.resolve("debug-server.json");
        grpcServer = PythonServer.start(python, repoRoot, home, Path.of("target", "debug-test-grpc.log"), STARTUP);
        debugServer = PythonServer.start(python, repoRoot, List.of("debug-server", "--port", "0", "--home",
                home.toString(), "--connection-file", connectionFile.toString()),
                connectionFile, Path.of("target", "debug-test-py4j.log"), STARTUP);
    }

    @AfterAll
    void stopServers() {
        if (debugServer != null) {
            debugServer.close();
        }
        if (grpcServer != null) {
            grpcServer.close();
        }
    }

    /** The Java code under comparison: identical for both connections. */
    private static DistillationResult distillDigits(Distiller distiller, List<DistillEvent> events) {
        return distiller.setTeacherModel("digits-mlp")
                .setStudentConfig(new MlpConfig().setHiddenSizes(32))
                .enableQuantization(QuantType.INT8)
                .setGates(new Gates().setMaxParityError(1e-4).setMaxInt8AccuracyDrop(0.05))
                .setTimeout(Duration.ofMinutes(10))
                .onEvent(events::add)
                .distill(Dataset.builtin("digits"),
                        new TrainingParams().setEpochs(3).setBatchSize(64).setLearningRate(0.01).setSeed(11));
    }

    @Test
    void theSameJavaCodeDistillsOverGrpcAndOverPy4jWithEquivalentResults() throws IOException {
        List<DistillEvent> grpcEvents = Collections.synchronizedList(new ArrayList<>());
        List<DistillEvent> debugEvents = Collections.synchronizedList(new ArrayList<>());
        DistillationResult viaGrpc;
        DistillationResult viaPy4j;
        Path grpcDir = tmp.resolve("grpc-artifact");
        Path debugDir = tmp.resolve("py4j-artifact");
        try (DistillBridge bridge = DistillBridge.builder(grpcServer.target()).usePlaintext().build()) {
            viaGrpc = distillDigits(bridge.newDistiller(), grpcEvents);
            viaGrpc.download(grpcDir);
        }
        try (DebugConnection debug = DistillBridge.debug(connectionFile)) {
            viaPy4j = distillDigits(debug.newDistiller(), debugEvents);
            viaPy4j.download(debugDir);
        }

        assertTrue(viaPy4j.jobId().startsWith("debug-"), viaPy4j.jobId());
        Map<String, Double> a = viaGrpc.metrics();
        Map<String, Double> b = viaPy4j.metrics();
        assertEquals(a.get("teacher_accuracy"), b.get("teacher_accuracy"), "one cached teacher");
        for (String metric : List.of("student_accuracy", "student_int8_accuracy", "student_val_accuracy")) {
            assertEquals(a.get(metric), b.get(metric), 0.02, metric + ": gRPC " + a + " vs Py4J " + b);
        }
        assertEquals(a.get("student_parameters"), b.get("student_parameters"));
        assertTrue(viaGrpc.jvmCheck().orElseThrow().passed() && viaPy4j.jvmCheck().orElseThrow().passed());

        // LOG lines differ (only the first job trains the shared zoo teacher); stages and epochs do not.
        assertEquals(stages(grpcEvents), stages(debugEvents), "the same stages in the same order");
        assertEquals(List.of(1, 2, 3), epochs(debugEvents));
        assertEquals(epochs(grpcEvents), epochs(debugEvents));
        assertEquals(DistillEvent.Kind.FINISHED, debugEvents.get(debugEvents.size() - 1).kind());
        for (Path dir : List.of(grpcDir, debugDir)) {
            try (DistilledModel model = DistilledModel.load(dir)) {
                assertTrue(model.selfCheck().healthy(), dir + ": " + model.selfCheck().problem());
            }
        }
    }

    @Test
    void aBadSpecOverPy4jGetsTheSameStatusAsOverGrpc() {
        try (DebugConnection debug = DistillBridge.debug(connectionFile)) {
            DistillException e = assertThrows(DistillException.class, () -> debug.newDistiller()
                    .setTeacherModel("no-such-teacher").setStudentConfig(new MlpConfig().setHiddenSizes(8))
                    .distill(Dataset.builtin("digits"), new TrainingParams().setEpochs(1)));
            assertEquals(Status.Code.NOT_FOUND, e.getStatusCode());
            assertTrue(e.getMessage().contains("teacher.reference"), e.getMessage());
        }
    }

    @Test
    void theConnectionFileIsOwnerOnlyAndAWrongTokenIsRefused() throws IOException {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(connectionFile)));
        int port = com.google.gson.JsonParser.parseString(Files.readString(connectionFile))
                .getAsJsonObject().get("port").getAsInt();
        try (DebugConnection wrong = DistillBridge.debug(port, "not-the-token")) {
            DistillException e = assertThrows(DistillException.class, () -> wrong.newDistiller()
                    .setTeacherModel("digits-mlp").setStudentConfig(new MlpConfig().setHiddenSizes(8))
                    .distill(Dataset.builtin("digits"), new TrainingParams().setEpochs(1)));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatusCode());
        }
    }

    private static List<String> stages(List<DistillEvent> events) {
        return events.stream().filter(e -> e.kind() == DistillEvent.Kind.STAGE).map(DistillEvent::stage).toList();
    }

    private static List<Integer> epochs(List<DistillEvent> events) {
        return events.stream().filter(e -> e.kind() == DistillEvent.Kind.VALIDATION).map(DistillEvent::epoch).toList();
    }
}
