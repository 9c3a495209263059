package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.TrainingParams;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A quiet WatchJob keeps its connection to the real Python server: the server (here
 * {@code --min-ping-interval 5}) accepts the client's keepalive pings (here every 10 s) on a
 * connection that carries no data, with no GOAWAY "too_many_pings" and no reconnect. The watched
 * job stays QUEUED behind a long one ({@code --max-concurrent-jobs 1}), so its stream says
 * nothing for the whole hold; the long job's worker is stopped (SIGSTOP) once it runs, so it
 * holds the slot without taking a core from the test classes running beside this one. Against a server that wants pings at most every 300 s the same
 * hold gets GOAWAY ENHANCE_YOUR_CALM on the fourth ping (about 40 s in), WARNINGs from grpc-java
 * ("Received GOAWAY with ENHANCE_YOUR_CALM. Debug data: too_many_pings", "Increased keepalive time
 * nanos ...") and the channel goes IDLE, then READY again. {@code -Ddistillbridge.realServer=skip} skips it.
 * It runs beside the other test classes, so only ping-related io.grpc warnings count here; the
 * channel's own states are the main evidence.
 */
@DisabledIfSystemProperty(named = "distillbridge.realServer", matches = "skip")
@Execution(ExecutionMode.CONCURRENT) // beside the other classes: the hold is mostly waiting
class KeepAliveTest {
    private static final Duration STARTUP = Duration.ofSeconds(120);
    // C-core's policy lets the first ping through and sends GOAWAY on the third strike, so a
    // server wanting pings further apart than the client's interval answers the fourth ping
    // (at about 40 s) with GOAWAY: the hold has to outlast it.
    private static final Duration HOLD = Duration.ofSeconds(45);
    private static final long KEEPALIVE_S = 10; // grpc-java's floor; DistillBridge.Builder refuses < 20 s

    @TempDir
    Path tmp;

    /** Held strongly: java.util.logging forgets the handlers of a logger that was collected. */
    private final Logger grpcLog = Logger.getLogger("io.grpc");

    @Test
    void aQuietWatchKeepsItsConnection() throws Exception {
        Path python = Path.of(System.getProperty("distillbridge.python", "../.venv/bin/python")).toAbsolutePath();
        Path repoRoot = Path.of(System.getProperty("distillbridge.repoRoot", "..")).toAbsolutePath().normalize();
        Path dataDir = Files.createDirectories(tmp.resolve("server-data"));
        List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        capture.setLevel(Level.WARNING);
        try (PythonServer server = PythonServer.start(python, repoRoot, dataDir, Path.of("target", "keepalive-server.log"),
                        STARTUP, "--min-ping-interval", "5", "--max-concurrent-jobs", "1");
                DistillBridge busy = DistillBridge.builder(server.target()).usePlaintext().build()) {
            // The long job takes the one slot; it is followed over a connection of its own.
            DistillationJob running = digitsJob(busy, "keepalive-long");
            String runningId = running.submitted().get(60, TimeUnit.SECONDS);
            freezeOnceRunning(server, busy, runningId);

            ManagedChannel channel = NettyChannelBuilder.forTarget(server.target())
                    .usePlaintext()
                    .keepAliveTime(KEEPALIVE_S, TimeUnit.SECONDS)
                    .keepAliveTimeout(5, TimeUnit.SECONDS)
                    .keepAliveWithoutCalls(true)
                    .build();
            try (DistillBridge bridge = DistillBridge.forChannel(channel)) {
                List<Long> sequences = Collections.synchronizedList(new ArrayList<>());
                DistillationJob queued = digitsJob(bridge, "keepalive-queued").onEvent(e -> sequences.add(e.sequence()));
                String queuedId = queued.submitted().get(60, TimeUnit.SECONDS);
                assertEquals(JobState.QUEUED, bridge.getJob(queuedId).state(), "the second job should wait");

                grpcLog.addHandler(capture);
                List<String> states = new ArrayList<>();
                List<String> changes = Collections.synchronizedList(new ArrayList<>());
                long start = System.nanoTime();
                followStateChanges(channel, start, changes); // catches what the sampling might miss
                while (System.nanoTime() - start < HOLD.toNanos()) {
                    ConnectivityState state = channel.getState(false);
                    long second = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
                    if (states.isEmpty() || !states.get(states.size() - 1).endsWith(" " + state)) {
                        states.add(second + "s " + state);
                    }
                    Thread.sleep(1000);
                }
                grpcLog.removeHandler(capture);

                // Other classes run meanwhile (their own channels may log); keep what is about pings.
                List<String> warnings = records.stream().filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue())
                        .map(r -> r.getLoggerName() + " " + r.getLevel() + ": " + format(r))
                        .filter(KeepAliveTest::aboutKeepalive).toList();
                assertEquals(List.of(), warnings, "io.grpc warnings during the hold (states " + states + ", changes " + changes + ")");
                assertEquals(List.of("0s READY"), states, "channel states during the hold");
                assertEquals(List.of(), changes, "channel state changes during the hold");
                Set<Long> distinct = new HashSet<>(sequences);
                assertEquals(distinct.size(), sequences.size(), "events replayed (a reconnect?): " + sequences);
                assertFalse(queued.isDone(), "the watch ended: " + queued);
                // the stream stayed quiet: the job never left the queue
                assertEquals(JobState.QUEUED, bridge.getJob(queuedId).state());
                assertEquals(JobState.RUNNING, bridge.getJob(runningId).state());

                server.signalWorkers("CONT");
                assertTrue(queued.cancel());
                assertTrue(running.cancel());
                assertEquals(JobState.CANCELLED, awaitEnd(bridge, queuedId));
                assertEquals(JobState.CANCELLED, awaitEnd(bridge, runningId));
            } finally {
                grpcLog.removeHandler(capture);
                server.signalWorkers("CONT");
                running.cancel();
                channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * Waits until the long job's worker runs, then stops it (SIGSTOP): the job keeps the one
     * slot, RUNNING, without using a core for the whole hold. The server has no worker watchdog
     * that a silent worker would trip.
     */
    private static void freezeOnceRunning(PythonServer server, DistillBridge bridge, String jobId) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        // RUNNING is recorded as the worker is spawned; the worker process is the one that runs
        // multiprocessing's spawn_main (beside it: multiprocessing's resource tracker)
        while (bridge.getJob(jobId).state() != JobState.RUNNING || server.workers().stream()
                .noneMatch(p -> p.info().commandLine().orElse("").contains("spawn_main"))) {
            assertTrue(System.nanoTime() < deadline, "the long job's worker never started: " + bridge.getJob(jobId).state());
            Thread.sleep(200);
        }
        assertTrue(server.signalWorkers("STOP") > 0, "no worker process to stop");
    }

    /** Records each change of the channel's state (as "12.3s IDLE") until the channel shuts down. */
    private static void followStateChanges(ManagedChannel channel, long start, List<String> changes) {
        ConnectivityState now = channel.getState(false);
        channel.notifyWhenStateChanged(now, () -> {
            ConnectivityState next = channel.getState(false);
            if (next != ConnectivityState.SHUTDOWN) {
                changes.add(String.format(java.util.Locale.ROOT, "%.1fs %s", (System.nanoTime() - start) / 1e9, next));
                followStateChanges(channel, start, changes);
            }
        });
    }

    /**
     * Digits for 10,000 epochs (the server's maximum; 2000 take only about 40 s on two cores):
     * long enough to hold the slot through the hold. Both jobs are cancelled at the end.
     */
    private static DistillationJob digitsJob(DistillBridge bridge, String name) {
        return bridge.newDistiller()
                .setTeacherModel("digits-mlp")
                .setStudentConfig(new MlpConfig().setHiddenSizes(32))
                .setName(name)
                .distillAsync(Dataset.builtin("digits"), new TrainingParams().setEpochs(10_000).setBatchSize(64)
                        .setLearningRate(0.01).setSeed(7));
    }

    private static JobState awaitEnd(DistillBridge bridge, String jobId) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        JobState state = bridge.getJob(jobId).state();
        while (!state.isTerminal() && System.nanoTime() < deadline) {
            Thread.sleep(200);
            state = bridge.getJob(jobId).state();
        }
        return state;
    }

    private static boolean aboutKeepalive(String warning) {
        String text = warning.toLowerCase(java.util.Locale.ROOT);
        return List.of("goaway", "too_many_pings", "enhance_your_calm", "keepalive", "ping").stream()
                .anyMatch(text::contains);
    }

    private static String format(LogRecord r) {
        String message = r.getMessage();
        if (r.getParameters() != null) {
            message = java.text.MessageFormat.format(message, r.getParameters());
        }
        return message;
    }
}
