package dev.distillbridge.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.Prediction;
import java.io.File;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The service started each way the README lists, as a separate process with the tiny tabular
 * artifact: it must report health UP and answer {@code /predict} as the model does in this JVM.
 * Run by failsafe after {@code package}, so the fat jar exists. The exploded-classpath launches
 * ({@code mvn spring-boot:run}, an IDE's "Run") are the ones that crashed ONNX Runtime with
 * SIGSEGV before {@code OrtRuntime} (issue 17).
 */
class RunModesIT {
    private static final float[] SAMPLE = {5.1f, 3.5f, -1.4f, 0.2f};
    private static final Duration STARTUP = Duration.ofMinutes(2);
    private static final String MAIN_CLASS = DistillBridgeServiceApplication.class.getName();
    private static final Path TARGET = Path.of("target").toAbsolutePath();

    @Test
    void theFatJarServes() throws Exception {
        try (var jars = Files.list(TARGET)) {
            Path jar = jars.filter(p -> p.toString().endsWith(".jar") && !p.toString().endsWith("-plain.jar"))
                    .findFirst().orElseThrow(() -> new AssertionError("no fat jar in " + TARGET + "; run mvn verify"));
            assertServes("fat-jar", List.of(java(), "-jar", jar.toString()));
        }
    }

    @Test
    void theExplodedClasspathServesAsAnIdeRunsIt() throws Exception {
        String classpath = TARGET.resolve("classes") + File.pathSeparator
                + Files.readString(TARGET.resolve("runtime-classpath.txt")).strip();
        // Past ~3,500 characters ONNX Runtime's environment creation overflowed a default stack.
        assertThat(classpath.length()).isGreaterThan(5_000);
        assertServes("exploded", List.of(java(), "-cp", classpath, MAIN_CLASS));
    }

    @Test
    void mvnSpringBootRunServes() throws Exception {
        // Offline: this build has already resolved every plugin and dependency the run needs.
        // The classes are compiled already: do not rebuild them under the running tests.
        // The same local repository as this build's (-Dmaven.repo.local), or offline resolution fails.
        assertServes("spring-boot-run", List.of(mvn(), "-B", "-ntp", "-q", "-o", "-Dmaven.main.skip=true",
                "-Dmaven.test.skip=true", "-Dmaven.repo.local=" + System.getProperty("maven.repo.local"),
                "spring-boot:run"));
    }

    /** Starts {@code command} in the project directory on a free port, waits for it, then checks it. */
    private static void assertServes(String name, List<String> command) throws Exception {
        Path log = TARGET.resolve("run-modes/" + name + ".log");
        Files.createDirectories(log.getParent());
        int port = freePort();
        ProcessBuilder builder = new ProcessBuilder(command).directory(TARGET.getParent().toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("DISTILL_BRIDGE_MODEL", TestArtifacts.tabular().toString());
        builder.environment().put("SERVER_PORT", Integer.toString(port));
        Process process = builder.start();
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            JsonObject health = awaitHealth(http, process, port, log);
            assertThat(health.get("status").getAsString()).as("health of %s; see %s", name, log).isEqualTo("UP");

            Prediction expected;
            try (DistilledModel model = DistilledModel.load(TestArtifacts.tabular())) {
                expected = model.predict(SAMPLE);
            }
            JsonObject answer = post(http, port, "/predict", "{\"features\": [5.1, 3.5, -1.4, 0.2]}");
            assertThat(answer.get("label").getAsString()).isEqualTo(expected.label());
            assertThat(answer.get("modelId").getAsString()).isEqualTo("fixture-tiny");
            assertThat(answer.getAsJsonObject("probabilities").get(expected.label()).getAsFloat())
                    .isEqualTo(expected.probabilities()[expected.labelIndex()]);
            assertThat(process.isAlive()).as("%s still running after /predict; see %s", name, log).isTrue();
        } finally {
            stop(process);
        }
    }

    /** Polls the health endpoint until the service answers; fails at once if the process dies. */
    private static JsonObject awaitHealth(HttpClient http, Process process, int port, Path log) throws Exception {
        long deadline = System.nanoTime() + STARTUP.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new AssertionError("the service exited with " + process.exitValue() + " before serving:\n"
                        + Files.readString(log));
            }
            try {
                return get(http, port, "/actuator/health");
            } catch (ConnectException notYet) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the service did not answer within " + STARTUP + ":\n"
                            + Files.readString(log));
                }
                Thread.sleep(250);
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static JsonObject get(HttpClient http, int port, String path) throws IOException, InterruptedException {
        return send(http, HttpRequest.newBuilder(uri(port, path)).GET());
    }

    private static JsonObject post(HttpClient http, int port, String path, String json)
            throws IOException, InterruptedException {
        return send(http, HttpRequest.newBuilder(uri(port, path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    private static JsonObject send(HttpClient http, HttpRequest.Builder request)
            throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(request.timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("%s: %s", request.build().uri(), response.body()).isEqualTo(200);
        return JsonParser.parseString(response.body()).getAsJsonObject();
    }

    private static URI uri(int port, String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String mvn() {
        String home = System.getProperty("maven.home");
        return home == null || home.isBlank() ? "mvn" : Path.of(home, "bin", "mvn").toString();
    }

    /** Stops the process and what it started (spring-boot:run forks the service's JVM). */
    private static void stop(Process process) throws InterruptedException {
        List<ProcessHandle> children = process.descendants().toList();
        children.forEach(ProcessHandle::destroy);
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        children.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }
}
