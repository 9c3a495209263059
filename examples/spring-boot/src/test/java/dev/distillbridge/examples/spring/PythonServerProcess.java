package dev.distillbridge.examples.spring;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real Distill Bridge server ({@code <python> -m bridge serve --port 0}) run from the
 * repository root, ready once it prints {@code distill-bridge listening on HOST:PORT}; its
 * output goes to a log file.
 */
final class PythonServerProcess implements AutoCloseable {
    private static final Pattern READY = Pattern.compile("distill-bridge listening on (\\S+):(\\d+)");

    private final Process process;
    private final CompletableFuture<String> target = new CompletableFuture<>();

    private PythonServerProcess(Process process) {
        this.process = process;
    }

    static PythonServerProcess start(Path dataDir, Path log, Duration startup) throws IOException {
        Files.createDirectories(dataDir);
        Process process = new ProcessBuilder(List.of(TestArtifacts.python().toString(), "-m", "bridge", "serve",
                "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir.toString()))
                .directory(TestArtifacts.repoRoot().toFile()).redirectErrorStream(true).start();
        PythonServerProcess server = new PythonServerProcess(process);
        Thread pump = new Thread(() -> server.pump(log), "python-server-output");
        pump.setDaemon(true);
        pump.start();
        try {
            server.target.get(startup.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            server.close();
            throw new IllegalStateException("the server did not start within " + startup + "; see " + log, e);
        }
        return server;
    }

    /** "host:port". */
    String target() {
        return target.join();
    }

    private void pump(Path log) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8));
                PrintWriter out = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8), true)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                out.println(line);
                Matcher m = READY.matcher(line);
                if (!target.isDone() && m.find()) {
                    target.complete(m.group(1) + ":" + m.group(2));
                }
            }
        } catch (IOException e) {
            target.completeExceptionally(e);
        }
        target.completeExceptionally(new IllegalStateException("server output ended"));
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
