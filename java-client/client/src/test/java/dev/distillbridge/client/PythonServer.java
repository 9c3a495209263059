package dev.distillbridge.client;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
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
import java.util.concurrent.TimeUnit;

/**
 * The real Python server ({@code <python> -m bridge serve --port 0}) as a child process: started
 * in the repository root, ready once it has written its ready file ({@code --ready-file}, JSON
 * with {@code host} and {@code port}; the debug server's connection file has the same keys);
 * all its output goes to a log file. Nothing here parses log text.
 */
final class PythonServer implements AutoCloseable {
    private static final Duration POLL = Duration.ofMillis(100);
    private static final int TAIL_LINES = 40;
    // Fresh for each test JVM (a Maven run): teachers trained by older code are never reused.
    private static final Path SHARED_TEACHERS = Path.of("target", "shared-teachers",
            Long.toString(ProcessHandle.current().pid())).toAbsolutePath();

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
        Path readyFile = log.toAbsolutePath().resolveSibling(log.getFileName() + ".ready.json");
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("serve", "--host", "127.0.0.1",
                "--port", "0", "--data-dir", dataDir.toString(), "--ready-file", readyFile.toString()));
        args.addAll(java.util.List.of(extraArgs));
        return start(python, repoRoot, args, readyFile, log, startup);
    }

    /**
     * Starts {@code python -m bridge <args>} (serve or debug-server) and waits until it has
     * written {@code readyFile} (the file {@code args} names as its ready or connection file).
     */
    static PythonServer start(Path python, Path repoRoot, java.util.List<String> args, Path readyFile, Path log,
            Duration startup) {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(python.toString(), "-m", "bridge"));
        command.addAll(args);
        for (String flag : java.util.List.of("--data-dir", "--home")) {
            int at = args.indexOf(flag);
            if (at >= 0 && at + 1 < args.size()) {
                shareTeachers(Path.of(args.get(at + 1)));
            }
        }
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(repoRoot.toFile())
                .redirectErrorStream(true);
        builder.environment().put("PYTHONUNBUFFERED", "1");
        Process process;
        try {
            Files.createDirectories(log.toAbsolutePath().getParent());
            Files.deleteIfExists(readyFile);
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + String.join(" ", builder.command()), e);
        }
        PythonServer server = new PythonServer(process, log);
        Thread reader = new Thread(server::pumpOutput, "python-server-output");
        reader.setDaemon(true);
        reader.start();
        server.awaitReady(readyFile, startup, builder);
        return server;
    }

    /**
     * Links {@code home/teachers} to one directory for this test JVM, so the zoo teachers the
     * servers train on first use (digits-mlp, ...) are trained once per Maven run, not once per
     * test class. The server trains them under a file lock, as it does for concurrent jobs.
     */
    private static synchronized void shareTeachers(Path home) {
        Path teachers = home.resolve("teachers");
        if (Files.exists(teachers, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.createDirectories(home);
            Files.createSymbolicLink(teachers, Files.createDirectories(SHARED_TEACHERS));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot link " + teachers + " to " + SHARED_TEACHERS, e);
        }
    }

    /** "host:port" to connect to. */
    String target() {
        return target.getNow(null);
    }

    private void awaitReady(Path readyFile, Duration startup, ProcessBuilder builder) {
        long deadline = System.nanoTime() + startup.toNanos();
        try {
            while (System.nanoTime() < deadline && process.isAlive()) {
                if (Files.isRegularFile(readyFile)) {
                    JsonObject info = JsonParser.parseString(Files.readString(readyFile)).getAsJsonObject();
                    target.complete(info.get("host").getAsString() + ":" + info.get("port").getAsInt());
                    return;
                }
                Thread.sleep(POLL.toMillis());
            }
        } catch (IOException | RuntimeException e) {
            target.completeExceptionally(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
        throw new IllegalStateException("the Python server did not write " + readyFile + " within " + startup
                + " (command: " + String.join(" ", builder.command()) + ", log: " + log + "). Last output:\n"
                + tail());
    }

    private void pumpOutput() {
        try (BufferedReader in = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                PrintWriter out = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8), true)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                out.println(line);
                remember(line);
            }
        } catch (IOException e) {
            // the log is best effort; readiness comes from the ready file
        }
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

    /** The processes the server started and that are alive: its workers and their helpers. */
    java.util.List<ProcessHandle> workers() {
        return process.descendants().toList();
    }

    /**
     * Sends {@code signal} ({@code "STOP"}, {@code "CONT"}: kill(1) names) to every process the
     * server started, its workers, and not to the server: a test freezes a running job so that it
     * holds its slot without taking a core from the tests beside it.
     *
     * @return how many processes were signalled
     */
    int signalWorkers(String signal) throws IOException, InterruptedException {
        int signalled = 0;
        for (ProcessHandle child : workers()) {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(child.pid()))
                    .redirectErrorStream(true).start();
            if (kill.waitFor() == 0) {
                signalled++;
            }
        }
        return signalled;
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
