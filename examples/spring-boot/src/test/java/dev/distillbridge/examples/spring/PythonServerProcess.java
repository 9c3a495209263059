package dev.distillbridge.examples.spring;

import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real Distill Bridge server ({@code <python> -m bridge serve --port 0}) run from the
 * repository root, ready once it has written its {@code --ready-file} (JSON with the
 * {@code target} it listens on); its output goes to a log file.
 */
final class PythonServerProcess implements AutoCloseable {
    private final Process process;
    private String target;

    private PythonServerProcess(Process process) {
        this.process = process;
    }

    static PythonServerProcess start(Path dataDir, Path log, Duration startup) throws IOException {
        Files.createDirectories(dataDir);
        Path ready = dataDir.toAbsolutePath().resolveSibling(dataDir.getFileName() + "-ready.json");
        Files.deleteIfExists(ready);
        Process process = new ProcessBuilder(List.of(TestArtifacts.python().toString(), "-m", "bridge", "serve",
                "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir.toString(),
                "--ready-file", ready.toString()))
                .directory(TestArtifacts.repoRoot().toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        PythonServerProcess server = new PythonServerProcess(process);
        long deadline = System.nanoTime() + startup.toNanos();
        try {
            while (!Files.isRegularFile(ready)) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("the server did not start within " + startup + "; see " + log);
                }
                Thread.sleep(100);
            }
            server.target = JsonParser.parseString(Files.readString(ready)).getAsJsonObject().get("target")
                    .getAsString();
        } catch (InterruptedException | RuntimeException e) {
            server.close();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("the server did not start within " + startup + "; see " + log, e);
        }
        return server;
    }

    /** "host:port". */
    String target() {
        return target;
    }

    /** Stops the server and the job workers it started. */
    @Override
    public void close() {
        List<ProcessHandle> children = process.descendants().toList();
        process.destroy();
        children.forEach(ProcessHandle::destroy);
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        children.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }
}
