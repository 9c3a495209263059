package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.distillbridge.inference.ArtifactFiles;
import dev.distillbridge.inference.ArtifactFile;
import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.Teacher;
import dev.distillbridge.spec.TrainingParams;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java client against the real Python server with a bearer token, TLS and client
 * certificates (made here with the openssl CLI, never committed): calls without the token are
 * refused, a job runs on an uploaded dataset, and a download whose connection is cut mid-file
 * resumes from its offset and verifies SHA-256.
 */
@DisabledIfSystemProperty(named = "distillbridge.realServer", matches = "skip")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecureServerTest {
    private static final String TOKEN = "java-test-token";

    @TempDir
    static Path tmp;

    private PythonServer server;
    private int port;

    @BeforeAll
    void startServer() throws IOException, InterruptedException {
        Path certs = Files.createDirectories(tmp.resolve("certs"));
        makeCerts(certs);
        Path tokenFile = Files.writeString(tmp.resolve("token"), TOKEN + "\n");
        Path python = Path.of(System.getProperty("distillbridge.python", "../.venv/bin/python")).toAbsolutePath();
        Path repoRoot = Path.of(System.getProperty("distillbridge.repoRoot", "..")).toAbsolutePath().normalize();
        server = PythonServer.start(python, repoRoot, Files.createDirectories(tmp.resolve("data")),
                Path.of("target", "secure-server.log"), Duration.ofSeconds(120),
                "--auth-token-file", tokenFile.toString(),
                "--tls-cert", certs.resolve("server.pem").toString(), "--tls-key", certs.resolve("server.key").toString(),
                "--tls-client-ca", certs.resolve("ca.pem").toString());
        port = Integer.parseInt(server.target().substring(server.target().lastIndexOf(':') + 1));
    }

    @AfterAll
    void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    private DistillBridge.Builder secure(String target) {
        Path certs = tmp.resolve("certs");
        return DistillBridge.builder(target)
                .trustCertificate(certs.resolve("ca.pem"))
                .clientCertificate(certs.resolve("client.pem"), certs.resolve("client.key"))
                .callTimeout(Duration.ofSeconds(30));
    }

    @Test
    void callsWithoutTheTokenAreUnauthenticated() {
        try (DistillBridge bridge = secure(server.target()).build()) {
            DistillException e = assertThrows(DistillException.class, bridge::listTeachers);
            assertEquals(Status.Code.UNAUTHENTICATED, e.getStatusCode(), e.getMessage());
        }
        try (DistillBridge bridge = secure(server.target()).bearerToken("wrong").build()) {
            assertEquals(Status.Code.UNAUTHENTICATED,
                    assertThrows(DistillException.class, bridge::listJobs).getStatusCode());
        }
    }

    @Test
    void builderRejectsBadOptionsAtBuild() {
        assertThrows(IllegalArgumentException.class,
                () -> DistillBridge.builder("x:1").callTimeout(Duration.ZERO).build());
        assertThrows(IllegalArgumentException.class, () -> DistillBridge.builder("x:1").bearerToken(" ").build());
        assertThrows(IllegalArgumentException.class,
                () -> DistillBridge.builder("x:1").trustCertificate(tmp.resolve("missing.pem")).build());
    }

    @Test
    void anUploadedDatasetDistillsAndACutDownloadResumesVerified() throws IOException {
        Path csv = syntheticDigitsCsv(tmp.resolve("digits-like.csv"));
        DistillationResult result;
        try (DistillBridge bridge = secure(server.target()).bearerToken(TOKEN).build()) {
            result = bridge.newDistiller()
                    .setTeacherModel(Teacher.of("digits-mlp"))
                    // wide, so model.onnx spans several 256 KiB chunks
                    .setStudentConfig(new MlpConfig().setHiddenSizes(2048))
                    .setTimeout(Duration.ofMinutes(10))
                    .distill(Dataset.upload(csv), new TrainingParams().setEpochs(1).setSeed(3));
        }
        ArtifactFile onnx = result.files().stream().filter(f -> f.name().equals("model.onnx")).findFirst().orElseThrow();
        assertTrue(onnx.sizeBytes() > 600_000, "model.onnx is only " + onnx.sizeBytes() + " bytes");

        try (CuttingProxy proxy = new CuttingProxy(port, 400_000);
                DistillBridge viaProxy = secure(proxy.target()).bearerToken(TOKEN).build()) {
            DistillationResult again = viaProxy.watchJob(result.jobId(), e -> { });
            Path dir = again.download(tmp.resolve("artifact"));
            assertTrue(proxy.downstreamBytes.size() >= 2, "the connection was never cut");
            assertTrue(proxy.downstreamBytes.get(1).get() < onnx.sizeBytes(), "the download started over");
            assertEquals(onnx.sha256(), ArtifactFiles.sha256(dir.resolve("model.onnx")));
            assertFalse(Files.exists(dir.resolve("model.onnx.part")));
            try (DistilledModel model = DistilledModel.load(dir)) {
                assertTrue(model.maxGoldenDiff() <= 1e-5, "golden diff " + model.maxGoldenDiff());
            }
        }
    }

    /** 64 features and labels 0-9, like sklearn's digits: what the digits-mlp teacher expects. */
    private static Path syntheticDigitsCsv(Path file) throws IOException {
        Random random = new Random(7);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 64; i++) {
            sb.append('p').append(i).append(',');
        }
        sb.append("label\n");
        for (int row = 0; row < 300; row++) {
            for (int i = 0; i < 64; i++) {
                sb.append(random.nextInt(17)).append(',');
            }
            sb.append(row % 10).append('\n');
        }
        return Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
    }

    private static void makeCerts(Path dir) throws IOException, InterruptedException {
        Files.writeString(dir.resolve("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
                "-keyout", "ca.key", "-out", "ca.pem");
        for (String name : List.of("server", "client")) {
            openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", name + ".key",
                    "-out", name + ".csr");
            List<String> sign = new java.util.ArrayList<>(List.of("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                    "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", name + ".pem"));
            if (name.equals("server")) {
                sign.addAll(List.of("-extfile", "san.ext"));
            }
            openssl(dir, sign.toArray(String[]::new));
        }
    }

    private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("openssl " + String.join(" ", args) + " failed:\n" + out);
        }
    }
}
