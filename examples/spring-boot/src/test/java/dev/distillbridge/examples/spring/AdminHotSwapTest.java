package dev.distillbridge.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.distillbridge.client.DistillBridge;
import dev.distillbridge.client.DistillationResult;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.TrainingParams;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.util.FileSystemUtils;

/**
 * The starter's hot-swap endpoint against the real Python server: the service starts with one
 * distilled digits model, distills another through {@code POST /actuator/distillbridge} (on the
 * management port), and swaps it in while requests keep arriving; none of them fails.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class AdminHotSwapTest {
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(10);
    private static final Path WORK = Path.of("target", "hot-swap").toAbsolutePath();

    private static PythonServerProcess server;
    private static String initialJobId;
    private static Path initialArtifact;

    @Autowired
    TestRestTemplate http;

    @LocalManagementPort
    int managementPort;

    @BeforeAll
    static void startServerAndDistillTheFirstModel() throws IOException {
        FileSystemUtils.deleteRecursively(WORK);
        server = PythonServerProcess.start(WORK.resolve("server-data"), WORK.resolve("server.log"),
                Duration.ofMinutes(2));
        try (DistillBridge bridge = DistillBridge.builder(server.target()).usePlaintext().build()) {
            DistillationResult result = bridge.newDistiller()
                    .setTeacherModel("digits-mlp")
                    .setStudentConfig(new MlpConfig().setHiddenSizes(16))
                    .setTimeout(JOB_TIMEOUT)
                    .distill(Dataset.builtin("digits"), digitsParams(2, 7));
            initialJobId = result.jobId();
            initialArtifact = result.download(WORK.resolve("initial"));
        }
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        registry.add("distillbridge.model.path", () -> initialArtifact.toString());
        registry.add("distillbridge.server.target", () -> server.target());
        registry.add("distillbridge.server.plaintext", () -> "true"); // the test server runs without --tls-cert
        Operator.register(registry);
        registry.add("management.endpoint.distillbridge.access", () -> "unrestricted");
        registry.add("management.endpoints.web.exposure.include", () -> "health,distillbridge");
        registry.add("management.server.port", () -> "0");
        registry.add("distillbridge.admin.work-dir", () -> WORK.resolve("updates").toString());
        registry.add("distillbridge.admin.job-timeout", () -> JOB_TIMEOUT.toString());
    }

    @Test
    void aNewModelIsDistilledVerifiedAndSwappedInWhileRequestsKeepSucceeding() throws Exception {
        assertThat(predict().getBody().get("modelId")).isEqualTo(initialJobId);

        AtomicBoolean running = new AtomicBoolean(true);
        ExecutorService callers = Executors.newFixedThreadPool(2);
        List<Future<List<String>>> seen = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            seen.add(callers.submit(() -> {
                List<String> ids = new ArrayList<>(); // this caller's answers, in order; "HTTP n" for a failure
                while (running.get()) {
                    ResponseEntity<Map> response = predict();
                    ids.add(response.getStatusCode() == HttpStatus.OK ? (String) response.getBody().get("modelId")
                            : "HTTP " + response.getStatusCode().value());
                    Thread.sleep(20); // leave the shared CPUs to the distillation
                }
                return ids;
            }));
        }

        ResponseEntity<Map> started = Operator.as(http).postForEntity(admin(""), Map.of("teacher", "digits-mlp",
                "dataset", "digits", "hiddenSizes", "24", "epochs", 2, "batchSize", 64,
                "learningRate", 0.01, "seed", 11), Map.class);
        assertThat(started.getStatusCode()).isEqualTo(HttpStatus.ACCEPTED);
        String jobId = (String) started.getBody().get("jobId");
        assertThat(jobId).isNotBlank().isNotEqualTo(initialJobId);
        assertThat(started.getBody().get("state")).isEqualTo("RUNNING");

        Map<?, ?> update = awaitUpdate(jobId);
        assertThat(update.get("state")).as("update %s", update).isEqualTo("SWAPPED");
        Thread.sleep(500); // a few more requests on the new model
        running.set(false);
        List<String> all = new ArrayList<>();
        for (Future<List<String>> caller : seen) {
            List<String> ids = caller.get(1, TimeUnit.MINUTES);
            all.addAll(ids);
            // each caller sees the old model, then the new one, never back
            int firstNew = ids.indexOf(jobId);
            assertThat(firstNew).as("caller saw the new model").isGreaterThanOrEqualTo(0);
            assertThat(ids.subList(firstNew, ids.size())).containsOnly(jobId);
            assertThat(ids.subList(0, firstNew)).containsOnly(initialJobId);
        }
        callers.shutdown();
        assertThat(all).as("no request failed during the swap").allMatch(id -> !id.startsWith("HTTP"));
        assertThat(all).contains(initialJobId);

        Map<?, ?> health = Operator.as(http).getForObject(management("/actuator/health"), Map.class);
        assertThat(health.get("status")).isEqualTo("UP");
        assertThat(health.toString()).contains("jobId=" + jobId);
    }

    @Test
    void anUnknownTeacherIsRefusedAtOnceAndTheModelStays() {
        Object before = predict().getBody().get("modelId");
        ResponseEntity<Map> refused = Operator.as(http).postForEntity(admin(""), Map.of("teacher", "no-such-teacher",
                "dataset", "digits", "hiddenSizes", "8", "epochs", 1), Map.class);
        assertThat(refused.getStatusCode()).isEqualTo(HttpStatus.NOT_FOUND);
        assertThat(refused.getBody().get("grpcStatus")).isEqualTo("NOT_FOUND");
        assertThat((String) refused.getBody().get("detail")).contains("no-such-teacher");
        assertThat(predict().getBody().get("modelId")).isEqualTo(before);
    }

    @Test
    void aBadDescriptionIsRefusedNamingTheField() {
        ResponseEntity<Map> refused = Operator.as(http).postForEntity(admin(""), Map.of("teacher", "digits-mlp",
                "dataset", "digits", "hiddenSizes", "8", "epochs", 0), Map.class);
        assertThat(refused.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat((String) refused.getBody().get("detail")).contains("training.epochs: must be > 0");
    }

    /** The hot-swap endpoint, on the management port. */
    private String admin(String path) {
        return management("/actuator/distillbridge" + path);
    }

    private String management(String path) {
        return "http://localhost:" + managementPort + path;
    }

    private ResponseEntity<Map> predict() {
        float[] digit = new float[64];
        for (int i = 0; i < digit.length; i++) {
            digit[i] = (i * 7) % 17;
        }
        return http.postForEntity("/predict", Map.of("features", digit), Map.class);
    }

    private Map<?, ?> awaitUpdate(String jobId) throws InterruptedException {
        long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
        while (true) {
            Map<?, ?> update = Operator.as(http).getForObject(admin("/" + jobId), Map.class);
            if (!"RUNNING".equals(update.get("state")) || System.nanoTime() > deadline) {
                return update;
            }
            Thread.sleep(200);
        }
    }

    private static TrainingParams digitsParams(int epochs, long seed) {
        return new TrainingParams().setEpochs(epochs).setBatchSize(64).setLearningRate(0.01).setSeed(seed);
    }
}
