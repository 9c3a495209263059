package dev.distillbridge.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real Python server ({@code <python> -m bridge serve --port 0}) as a child process: started
 * in the repository root, ready once it prints {@code distill-bridge listening on HOST:PORT};
 * all its output goes to a log file.
 */
final class PythonServer implements AutoCloseable {
    private static final Pattern READY = Pattern.compile("distill-bridge (?:debug-server )?listening on (\\S+):(\\d+)");
    private static final int TAIL_LINES = 40;

    private final Process process;
    private final Path log;
    private final CompletableFuture<String> target = new CompletableFuture<>();
    private final Deque<String> tail = new ArrayDeque<>();

    private PythonServer(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * Starts the server and waits until it listens.
     *
     * @return the running server; {@link #target()} is its "host:port"
     */
    static PythonServer start(Path python, Path repoRoot, Path dataDir, Path log, Duration startup,
            String... extraArgs) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("serve", "--host", "127.0.0.1",
                "--port", "0", "--data-dir", dataDir.toString()));
        args.addAll(java.util.List.of(extraArgs));
        return start(python, repoRoot, args, log, startup);
    }

    /** Starts {@code python -m bridge <args>} (serve or debug-server) and waits until it listens. */
    static PythonServer start(Path python, Path repoRoot, java.util.List<String> args, Path log, Duration startup) {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(python.toString(), "-m", "bridge"));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(repoRoot.toFile())
                .redirectErrorStream(true);
        builder.environment().put("PYTHONUNBUFFERED", "1");
        Process process;
        try {
            Files.createDirectories(log.getParent());
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + String.join(" ", builder.command()), e);
        }
        PythonServer server = new PythonServer(process, log);
        Thread reader = new Thread(server::pumpOutput, "python-server-output");
        reader.setDaemon(true);
        reader.start();
        server.awaitReady(startup, builder);
        return server;
    }

    /** "host:port" to connect to. */
    String target() {
        return target.getNow(null);
    }

    private void awaitReady(Duration startup, ProcessBuilder builder) {
        try {
            target.get(startup.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException | InterruptedException e) {
            close();
            throw new IllegalStateException("the Python server did not report 'distill-bridge listening on' within "
                    + startup + " (command: " + String.join(" ", builder.command()) + ", log: " + log
                    + "). Last output:\n" + tail(), e);
        }
    }

    private void pumpOutput() {
        try (BufferedReader in = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                PrintWriter out = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8), true)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                out.println(line);
                remember(line);
                Matcher m = READY.matcher(line);
                if (!target.isDone() && m.find()) {
                    target.complete(m.group(1) + ":" + m.group(2));
                }
            }
        } catch (IOException e) {
            target.completeExceptionally(e);
        }
        target.completeExceptionally(new IllegalStateException("server output ended (exit code "
                + (process.isAlive() ? "?" : process.exitValue()) + ")"));
    }

    private synchronized void remember(String line) {
        if (tail.size() == TAIL_LINES) {
            tail.removeFirst();
        }
        tail.addLast(line);
    }

    private synchronized String tail() {
        return String.join("\n", tail);
    }

    /** Stops the server and any worker processes it started, and waits for them. */
    @Override
    public void close() {
        var children = process.descendants().toList();
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
