package dev.distillbridge.inference;

import ai.onnxruntime.OrtEnvironment;

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
 */
final class OrtRuntime {
    /** Far above the ~4 MiB that was enough in every run; only this one thread gets it. */
    static final long INIT_STACK_BYTES = 64L << 20;

    private static volatile OrtEnvironment environment;

    private OrtRuntime() {
    }

    /** The environment; the first call creates it on a large-stack thread and waits for it. */
    static OrtEnvironment environment() {
        OrtEnvironment env = environment;
        if (env != null) {
            return env;
        }
        synchronized (OrtRuntime.class) {
            if (environment == null) {
                environment = createOnLargeStack();
            }
            return environment;
        }
    }

    private static OrtEnvironment createOnLargeStack() {
        Object[] outcome = new Object[1];
        Thread init = new Thread(null, () -> {
            try {
                outcome[0] = OrtEnvironment.getEnvironment();
            } catch (Throwable e) { // handed to the caller below
                outcome[0] = e;
            }
        }, "distill-bridge-onnxruntime-init", INIT_STACK_BYTES);
        init.setDaemon(true);
        init.start();
        boolean interrupted = false;
        while (true) {
            try {
                init.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the load cannot be abandoned half-way: finish, then re-flag
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (outcome[0] instanceof OrtEnvironment env) {
            return env;
        }
        Throwable cause = (Throwable) outcome[0];
        throw new ModelException(ModelException.Code.RUNTIME_FAILED, null, "ONNX Runtime could not start: " + cause, cause);
    }
}
