package dev.distillbridge.inference;

import java.util.OptionalDouble;

/**
 * What the server's own JVM said about an artifact before handing it over: it loaded every
 * model with this client's {@link DistilledModel#load(java.nio.file.Path, Precision)} (hashes,
 * golden vectors) through JPype. {@code skipped} means the server had no JVM or no client
 * classpath; it never counts as passed.
 *
 * @param status {@code passed}, {@code failed} or {@code skipped}
 * @param reason why it was skipped or failed; empty when passed
 * @param maxAbsDiff largest difference between the JVM's and the golden outputs, when passed
 * @param javaVersion the server JVM's {@code java.version}
 * @param onnxRuntimeVersion the ONNX Runtime Java version that ran the models
 */
public record JvmCheck(String status, String reason, OptionalDouble maxAbsDiff, String javaVersion,
        String onnxRuntimeVersion) {
    /** True only when the check ran and every model matched its golden vectors. */
    public boolean passed() {
        return "passed".equals(status);
    }
}
