package dev.distillbridge.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A JVM started with a classpath over 8,000 characters (as {@code mvn spring-boot:run},
 * {@code exec:java} and IDEs start one) loads an artifact and predicts, on the main thread and on
 * a default-stack thread, whichever touches ONNX Runtime first. Before {@link OrtRuntime}, ONNX
 * Runtime's first load died there with SIGSEGV (exit 139).
 */
class LongClasspathTest {
    private static final int PADDED_LENGTH = 9_000;

    @ParameterizedTest
    @ValueSource(strings = {"main-first", "thread-first"})
    void aLongClasspathJvmLoadsAndPredicts(String order) throws IOException, InterruptedException {
        String classpath = padded(System.getProperty("java.class.path"));
        assertTrue(classpath.length() > 8_000);
        String java = ProcessHandle.current().info().command().orElse("java");
        Process child = new ProcessBuilder(List.of(java, "-cp", classpath, LongClasspathMain.class.getName(),
                DistilledModelTest.FIXTURE.toAbsolutePath().toString(), order))
                .redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish");
        assertEquals(0, child.exitValue(), "child JVM exit code (139 = SIGSEGV); output:\n" + output);
        assertTrue(output.contains("main ok") && output.contains("thread ok"), output);
    }

    /** The classpath, then entries that do not exist, up to PADDED_LENGTH characters. */
    private static String padded(String classpath) {
        List<String> entries = new ArrayList<>(List.of(classpath));
        for (int i = 0; String.join(":", entries).length() < PADDED_LENGTH; i++) {
            entries.add(Path.of("/nonexistent/padding/entry-" + i + ".jar").toString());
        }
        return String.join(":", entries);
    }
}
