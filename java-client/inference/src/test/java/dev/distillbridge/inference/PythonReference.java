package dev.distillbridge.inference;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the Python reference scripts under src/test/resources with the interpreter of
 * {@code -Ddistillbridge.python} (default {@code ../.venv/bin/python}): Hugging Face tokenizers
 * ids, Python ONNX Runtime predictions, and the tiny text artifact. Classes using it are
 * skipped with {@code -Ddistillbridge.pythonReference=skip}.
 */
public final class PythonReference {
    private static final long TIMEOUT_SECONDS = 300;
    private static final Path WORK = Path.of("target", "python-reference").toAbsolutePath();
    private static Path tinyTextArtifact;

    private PythonReference() {
    }

    /** A fresh path under target/python-reference for a script's output. */
    public static Path output(String name) {
        try {
            Files.createDirectories(WORK);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return WORK.resolve(name);
    }

    /**
     * Runs {@code <python> <script> args...}; fails with the script's output when it exits non-zero.
     *
     * @param script a path under src/test/resources, e.g. {@code text/tokenizer_reference.py}
     */
    public static void run(String script, String... args) {
        List<String> command = new ArrayList<>(List.of(python().toString(), script(script).toString()));
        command.addAll(List.of(args));
        Path log = output(Path.of(script).getFileName() + ".log");
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " took over " + TIMEOUT_SECONDS + " s");
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " exited with " + process.exitValue()
                        + " (set -Ddistillbridge.python to a Python with tokenizers, torch and onnxruntime):\n"
                        + Files.readString(log, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + script, e);
        }
    }

    /** The tiny text artifact of fixtures/make_tiny_text_artifact.py, built once per test JVM. */
    public static synchronized Path tinyTextArtifact() {
        if (tinyTextArtifact == null) {
            Path dir = output("tiny-text-artifact");
            run("fixtures/make_tiny_text_artifact.py", dir.toString());
            tinyTextArtifact = dir;
        }
        return tinyTextArtifact;
    }

    private static Path python() {
        return Path.of(System.getProperty("distillbridge.python", "../.venv/bin/python")).toAbsolutePath();
    }

    private static Path script(String resource) {
        return DistilledModelTest.fixture(resource);
    }
}
