package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.distillbridge.inference.ArtifactFile;
import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.GoldenVector;
import dev.distillbridge.inference.JvmCheck;
import dev.distillbridge.inference.ModelException;
import dev.distillbridge.inference.OnnxOperator;
import dev.distillbridge.inference.Precision;
import dev.distillbridge.inference.Prediction;
import dev.distillbridge.inference.SelfCheckReport;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.QuantType;
import dev.distillbridge.spec.TrainingParams;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java client against the real Python server: a full distillation on the built-in digits
 * data, the artifact downloaded and run in this JVM, and error paths. The server is started from
 * {@code -Ddistillbridge.python} (default {@code ../.venv/bin/python}) in the repository root;
 * its output goes to {@code target/real-server.log}. {@code -Ddistillbridge.realServer=skip}
 * skips this class.
 */
@DisabledIfSystemProperty(named = "distillbridge.realServer", matches = "skip")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RealServerRoundTripTest {
    private static final Duration STARTUP = Duration.ofSeconds(120);
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(10);

    @TempDir
    static Path tmp;

    private PythonServer server;
    private DistillBridge bridge;
    private final List<DistillEvent> events = Collections.synchronizedList(new ArrayList<>());
    private DistillationResult result;
    private Path artifact;

    @BeforeAll
    void startServer() throws IOException {
        Path python = Path.of(System.getProperty("distillbridge.python", "../.venv/bin/python")).toAbsolutePath();
        Path repoRoot = Path.of(System.getProperty("distillbridge.repoRoot", "..")).toAbsolutePath().normalize();
        Path dataDir = Files.createDirectories(tmp.resolve("server-data"));
        server = PythonServer.start(python, repoRoot, dataDir, Path.of("target", "real-server.log"), STARTUP);
        bridge = DistillBridge.builder(server.target()).usePlaintext().build();
    }

    @AfterAll
    void stopServer() {
        if (bridge != null) {
            bridge.close();
        }
        if (server != null) {
            server.close();
        }
    }

    /** Distills digits once; later tests reuse the result and the downloaded artifact. */
    private synchronized DistillationResult distillDigits() {
        if (result == null) {
            result = bridge.newDistiller()
                    .setTeacherModel("digits-mlp")
                    .setStudentConfig(new MlpConfig().setHiddenSizes(32))
                    .enableQuantization(QuantType.INT8)
                    .setName("java-round-trip")
                    .setTimeout(JOB_TIMEOUT)
                    .onEvent(events::add)
                    .distill(Dataset.builtin("digits"), new TrainingParams().setEpochs(3).setBatchSize(64).setLearningRate(0.01).setSeed(7));
            artifact = result.download(tmp.resolve("artifact"));
        }
        return result;
    }

    @Test
    @Order(1)
    void distillsDownloadsAndRunsTheArtifactInTheJvm() {
        DistillationResult r = distillDigits();

        double int8Accuracy = r.metric("student_int8_accuracy").orElseThrow();
        assertTrue(int8Accuracy > 0.8, "student_int8_accuracy " + int8Accuracy + " in " + r.metrics());
        // The server's job loaded the artifact with this client's DistilledModel in its own JVM.
        JvmCheck jvm = r.jvmCheck().orElseThrow();
        assertTrue(jvm.passed(), jvm.status() + ": " + jvm.reason());
        assertEquals("1.29.0", jvm.onnxRuntimeVersion());
        double jvmDiff = r.metric("jvm_parity_max_abs_diff").orElseThrow();
        assertTrue(jvmDiff <= 1e-5, "jvm_parity_max_abs_diff " + jvmDiff);
        assertEquals(jvmDiff, jvm.maxAbsDiff().orElseThrow());
        assertFalse(r.int8Fallback());
        for (String file : List.of("model.onnx", "model.int8.onnx")) {
            List<OnnxOperator> ops = r.operators().get(file);
            assertFalse(ops.isEmpty(), "no operators for " + file);
            assertTrue(ops.stream().allMatch(o -> o.cpu() && o.opset() == 18), ops.toString());
        }
        try (DistilledModel model = DistilledModel.load(artifact)) {
            assertEquals(Precision.INT8, model.precision());
            assertTrue(model.maxGoldenDiff() <= 1e-5,
                    "JVM outputs differ from Python ONNX Runtime's by " + model.maxGoldenDiff());
            GoldenVector golden = model.manifest().goldenVector(model.modelPath().getFileName().toString())
                    .orElseThrow();
            for (int i = 0; i < golden.rows(); i++) {
                Prediction p = model.predict(golden.inputRow(i));
                assertTrue(model.labels().contains(p.label()), p.label() + " not in " + model.labels());
            }
        }
        try (DistilledModel fp32 = DistilledModel.load(artifact, Precision.FP32)) {
            assertTrue(fp32.maxGoldenDiff() <= 1e-5, "fp32 golden diff " + fp32.maxGoldenDiff());
        }

        List<DistillEvent> seen = List.copyOf(events);
        assertTrue(seen.stream().anyMatch(e -> e.kind() == DistillEvent.Kind.VALIDATION), "no VALIDATION event");
        assertEquals(DistillEvent.Kind.FINISHED, seen.get(seen.size() - 1).kind());
        assertEquals(LongStream.range(0, seen.size()).boxed().toList(),
                seen.stream().map(DistillEvent::sequence).toList(), "events gap-free and in order");
    }

    @Test
    @Order(2)
    void theJobsReportArrivesWithTheArtifact() throws IOException {
        DistillationResult r = distillDigits();
        try (DistilledModel model = DistilledModel.load(artifact)) {
            Path report = model.reportDirectory().orElseThrow();
            assertEquals(artifact.resolve("report"), report);
            assertTrue(Files.size(report.resolve("loss_curves.png")) > 0, "empty loss_curves.png");
            String accuracy = String.format(java.util.Locale.ROOT, "%.4f", r.metric("student_int8_accuracy").orElseThrow());
            String markdown = Files.readString(report.resolve("report.md"));
            assertTrue(markdown.contains("| student accuracy (INT8 ONNX) | " + accuracy + " |"), markdown);
            assertEquals(java.util.Set.of("report/report.md", "report/loss_curves.png"),
                    model.manifest().reportFiles().keySet());
        }
    }

    @Test
    @Order(2)
    void aTamperedDownloadedModelIsRejected() throws IOException {
        distillDigits();
        Path copy = Files.createDirectories(tmp.resolve("tampered"));
        try (Stream<Path> files = Files.list(artifact)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName().toString()));
            }
        }
        byte[] bytes = Files.readAllBytes(copy.resolve("model.onnx"));
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(copy.resolve("model.onnx"), bytes);

        ModelException e = assertThrows(ModelException.class, () -> DistilledModel.load(copy, Precision.FP32));
        assertEquals(ModelException.Code.HASH_MISMATCH, e.code());
        assertEquals("model.onnx", e.fileName().orElseThrow());
        // The INT8 session never reads the fp32 file: it loads, and selfCheck names the damage.
        try (DistilledModel int8 = DistilledModel.load(copy, Precision.INT8)) {
            SelfCheckReport report = int8.selfCheck();
            assertFalse(report.healthy());
            assertTrue(report.problem().contains("model.onnx"), report.problem());
        }
    }

    @Test
    @Order(3)
    void anUnknownTeacherIsNotFound() {
        DistillException e = assertThrows(DistillException.class, () -> bridge.newDistiller()
                .setTeacherModel("no-such-teacher")
                .setStudentConfig(new MlpConfig().setHiddenSizes(8))
                .setTimeout(JOB_TIMEOUT)
                .distill(Dataset.builtin("digits"), new TrainingParams().setEpochs(1)));
        assertEquals(Status.Code.NOT_FOUND, e.getStatusCode(), e.getMessage());
        assertTrue(e.getMessage().contains("teacher"), e.getMessage());
    }

    @Test
    @Order(3)
    void theDefaultConnectionIsTlsSoThisPlaintextServerIsRefusedNamingUsePlaintext() {
        try (DistillBridge tls = DistillBridge.builder(server.target()).callTimeout(Duration.ofSeconds(20))
                .retry(1, Duration.ofMillis(1), Duration.ofMillis(1)).build()) {
            DistillException e = assertThrows(DistillException.class, tls::listTeachers);
            assertEquals(Status.Code.UNAVAILABLE, e.getStatusCode(), e.getMessage());
            assertTrue(e.getMessage().contains("usePlaintext()"), e.getMessage());
        }
    }

    @Test
    @Order(4)
    void theServerStillAnswersAfterErrors() {
        List<TeacherInfo> teachers = bridge.listTeachers();
        assertTrue(teachers.stream().anyMatch(t -> t.name().equals("digits-mlp")), teachers.toString());
    }

    @Test
    @Order(5)
    void aRunningJobIsDeletedOnlyAfterItIsCancelled() {
        DistillationJob job = bridge.newDistiller()
                .setTeacherModel("digits-mlp")
                .setStudentConfig(new MlpConfig().setHiddenSizes(8))
                .setName("java-delete-while-running")
                .setTimeout(JOB_TIMEOUT)
                .distillAsync(Dataset.builtin("digits"), new TrainingParams().setEpochs(2000).setSeed(1));
        String jobId = job.submitted().orTimeout(60, java.util.concurrent.TimeUnit.SECONDS).join();
        try {
            DistillException refused = assertThrows(DistillException.class, () -> bridge.deleteJob(jobId));
            assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatusCode(), refused.getMessage());
            assertTrue(refused.getMessage().contains("cancel it"), refused.getMessage());
            assertEquals(JobState.CANCELLED, bridge.cancelJob(jobId).state());
        } finally {
            job.cancel();
        }
        DistillException ended = assertThrows(DistillException.class, () -> job.await(Duration.ofSeconds(60)));
        assertEquals(Status.Code.CANCELLED, ended.getStatusCode(), ended.getMessage());

        assertTrue(bridge.deleteJob(jobId) >= 0);
        DistillException gone = assertThrows(DistillException.class, () -> bridge.getJob(jobId));
        assertEquals(Status.Code.NOT_FOUND, gone.getStatusCode(), gone.getMessage());
    }

    @Test
    @Order(6)
    void anUploadIsListedWithItsDetailsAndDeleted() throws Exception {
        Path csv = Files.writeString(tmp.resolve("tiny.csv"), "x,label\n1,0\n2,1\n");
        Instant before = Instant.now().minusSeconds(5);
        // Package-private: public callers upload through a job (Dataset.upload), which would train.
        String id = bridge.upload(dev.distillbridge.proto.v1.UploadKind.UPLOAD_KIND_DATASET, csv);

        UploadInfo info = bridge.listUploads(UploadKind.DATASET).stream()
                .filter(u -> u.uploadId().equals(id)).findFirst().orElseThrow();
        assertEquals("tiny.csv", info.fileName());
        assertEquals(UploadKind.DATASET, info.kind());
        assertEquals(Files.size(csv), info.sizeBytes());
        assertEquals(HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(csv))), info.sha256());
        assertFalse(info.extracted());
        assertEquals(List.of(), info.activeJobIds());
        assertTrue(info.createdAt().isAfter(before) && info.createdAt().isBefore(Instant.now().plusSeconds(5)),
                info.toString());
        assertEquals(info.createdAt(), info.lastUsedAt(), "never used: last used = created");
        assertTrue(bridge.listUploads(UploadKind.MODEL).stream().noneMatch(u -> u.uploadId().equals(id)));

        assertEquals(Files.size(csv), bridge.deleteUpload(id));
        DistillException gone = assertThrows(DistillException.class, () -> bridge.deleteUpload(id));
        assertEquals(Status.Code.NOT_FOUND, gone.getStatusCode(), gone.getMessage());
    }

    /** Last: earlier tests download this job's artifact. */
    @Test
    @Order(7)
    void theFinishedJobIsDeletedWithItsArtifact() {
        DistillationResult r = distillDigits();
        assertEquals(List.of(), bridge.listUploads(), "built-in data and a zoo teacher upload nothing");

        long artifactBytes = r.files().stream().mapToLong(ArtifactFile::sizeBytes).sum();
        long freed = bridge.deleteJob(r.jobId());
        assertTrue(freed >= artifactBytes && artifactBytes > 0, "freed " + freed + ", artifact " + artifactBytes);

        for (Runnable call : List.<Runnable>of(() -> bridge.getJob(r.jobId()), () -> bridge.deleteJob(r.jobId()),
                () -> bridge.deleteUpload("upl-0123456789abcdef"))) {
            DistillException e = assertThrows(DistillException.class, call::run);
            assertEquals(Status.Code.NOT_FOUND, e.getStatusCode(), e.getMessage());
        }
        assertTrue(bridge.listJobs().stream().noneMatch(j -> j.jobId().equals(r.jobId())));
    }
}
