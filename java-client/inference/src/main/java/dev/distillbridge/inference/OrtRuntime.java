package dev.distillbridge.inference;

import ai.onnxruntime.OrtEnvironment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The JVM's one ONNX Runtime environment, created the first time any thread needs it, on a
 * dedicated thread with a large stack.
 *
 * <p>Why: ONNX Runtime's first load (native libraries, then the environment) uses more native
 * stack than a default 1 MiB Java thread offers once the JVM's classpath is long: with a classpath
 * of ~3,500 characters or more, {@code OrtEnvironment.getEnvironment()} kills the JVM with
 * SIGSEGV (no {@code hs_err}), on the main thread and on any default-stack thread, while a 4 MiB
 * stack or {@code -Xss16m} works. {@code mvn spring-boot:run}, {@code exec:java} and IDE runs use
 * exactly such classpaths. Later calls on ordinary threads are fine: only the first load is
 * deep. See docs/ort-long-classpath-segfault.md for the reproduction.
 *
 * <p>The start also points ORT at {@link NativeLibraryCache}'s verified directory, and runs in
 * the background from the first {@link DistilledModel} load, overlapping the artifact's hashing.
 */
final class OrtRuntime {
    /** Far above the ~4 MiB that was enough in every run; only this one thread gets it. */
    static final long INIT_STACK_BYTES = 64L << 20;

    private static volatile Start start;

    private OrtRuntime() {
    }

    /** The native-library directory ORT was pointed at, the environment, and how long it took. */
    record Started(OrtEnvironment environment, Optional<Path> nativeDirectory, Duration took) {
    }

    /** One start of the runtime, shared by every caller: a large-stack thread's outcome. */
    private static final class Start {
        final CompletableFuture<Started> outcome = new CompletableFuture<>();
    }

    /**
     * Starts ONNX Runtime on its large-stack thread unless it is started or starting; returns at
     * once (true when this call began the start), so a caller can read and hash an artifact while
     * the native libraries load.
     */
    static boolean startInBackground() {
        if (start != null) {
            return false;
        }
        synchronized (OrtRuntime.class) {
            boolean begins = start == null;
            start();
            return begins;
        }
    }

    /** The environment; waits for the start (beginning it when nobody has). */
    static OrtEnvironment environment() {
        return started().environment();
    }

    /** The start, when it has finished successfully; never waits. */
    static Optional<Started> startedIfDone() {
        Start s = start;
        if (s == null || !s.outcome.isDone() || s.outcome.isCompletedExceptionally()) {
            return Optional.empty();
        }
        return Optional.of(s.outcome.join());
    }

    /** The finished start; waits for it. */
    static Started started() {
        CompletableFuture<Started> outcome = start().outcome;
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return outcome.get(); // the load cannot be abandoned half-way: finish, then re-flag
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    throw new ModelException(ModelException.Code.RUNTIME_FAILED, null,
                            "ONNX Runtime could not start: " + cause, cause);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static Start start() {
        Start s = start;
        if (s != null) {
            return s;
        }
        synchronized (OrtRuntime.class) {
            if (start == null) {
                start = new Start();
                Start begun = start;
                Runnable task = new Runnable() { // not a lambda: see NativeLibraryCache
                    @Override
                    public void run() {
                        OrtRuntime.run(begun);
                    }
                };
                Thread init = new Thread(null, task, "distill-bridge-onnxruntime-init", INIT_STACK_BYTES);
                init.setDaemon(true);
                init.start();
            }
            return start;
        }
    }

    private static void run(Start s) {
        long t0 = System.nanoTime();
        try {
            Optional<Path> dir = NativeLibraryCache.prepare(); // before ORT's classes load the libraries
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            if (dir.isPresent() && !NativeLibraryCache.isLoadedFrom(dir.get())) {
                dir = Optional.empty(); // ORT was loaded before the path was set: not from the cache
            }
            s.outcome.complete(new Started(env, dir, Duration.ofNanos(System.nanoTime() - t0)));
        } catch (Throwable e) { // handed to every caller
            s.outcome.completeExceptionally(e);
        }
    }
}
