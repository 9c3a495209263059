package dev.distillbridge.examples.spring;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Artifacts made at test time by the Java client's fixture scripts (nothing binary is
 * committed), once per test JVM, with the Python of {@code -Ddistillbridge.python}.
 */
final class TestArtifacts {
    private static final Map<String, Path> MADE = new HashMap<>();

    private TestArtifacts() {
    }

    /** The tiny tabular artifact: 4 features -> 3 iris labels, job id {@code fixture-tiny}. */
    static Path tabular() {
        return make("make_tiny_artifact.py", "tiny-artifact");
    }

    /** The tiny text artifact: MiniLM's tokenizer, a small text classifier. */
    static Path text() {
        return make("make_tiny_text_artifact.py", "tiny-text-artifact");
    }

    static Path python() {
        return Path.of(System.getProperty("distillbridge.python", "../../.venv/bin/python")).toAbsolutePath();
    }

    static Path repoRoot() {
        return Path.of(System.getProperty("distillbridge.repoRoot", "../..")).toAbsolutePath().normalize();
    }

    /** A copy of {@code artifact} in {@code dir}, to tamper with. */
    static Path copy(Path artifact, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (var files = Files.list(artifact)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return dir;
    }

    private static synchronized Path make(String script, String name) {
        return MADE.computeIfAbsent(script, s -> {
            Path out = Path.of("target", "test-artifacts", name).toAbsolutePath();
            Path source = repoRoot().resolve("java-client/inference/src/test/resources/fixtures").resolve(s);
            Path log = out.resolveSibling(name + ".log");
            try {
                Files.createDirectories(out.getParent());
                Process process = new ProcessBuilder(List.of(python().toString(), source.toString(), out.toString()))
                        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
                if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0) {
                    process.destroyForcibly();
                    throw new IllegalStateException(source + " failed (set -Ddistillbridge.python to a Python with "
                            + "torch, onnxruntime and tokenizers):\n" + Files.readString(log));
                }
                return out;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        });
    }
}
