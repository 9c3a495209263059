package dev.distillbridge.inference;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The outcome of {@link DistilledModel#selfCheck()}: whether the loaded model still matches its
 * artifact (file hashes on disk, golden vectors replayed through the live session) and the
 * versions involved. Immutable. {@link #details()} is shaped for a health endpoint, e.g. a
 * Spring Boot {@code HealthIndicator}:
 *
 * <pre>{@code
 * public Health health() {
 *     SelfCheckReport r = model.selfCheck();
 *     return (r.healthy() ? Health.up() : Health.down()).withDetails(r.details()).build();
 * }
 * }</pre>
 *
 * @param healthy true when every file matched its SHA-256 and the golden vectors replayed
 *     within {@code atol}
 * @param problem what failed, naming the file and the numbers; empty when healthy
 * @param jobId the job that produced the artifact
 * @param modelFile the ONNX file this model runs
 * @param precision FP32 or INT8
 * @param sha256 the verified SHA-256 of each artifact file, by name (those checked before a
 *     failure stopped the check)
 * @param goldenRows golden-vector samples replayed (0 if the check failed before)
 * @param maxGoldenDiff largest absolute difference from the golden outputs (NaN if not replayed)
 * @param atol the tolerance recorded in the manifest
 * @param javaVersion {@code java.version} of this JVM
 * @param onnxRuntimeVersion the ONNX Runtime Java version running the model
 * @param clientVersion this client's version
 * @param checkedAt when the check ran
 * @param duration how long it took
 */
public record SelfCheckReport(
        boolean healthy,
        String problem,
        String jobId,
        String modelFile,
        Precision precision,
        Map<String, String> sha256,
        int goldenRows,
        double maxGoldenDiff,
        double atol,
        String javaVersion,
        String onnxRuntimeVersion,
        String clientVersion,
        Instant checkedAt,
        Duration duration) {

    /** Copies {@code sha256} and checks that nothing is null. */
    public SelfCheckReport {
        Objects.requireNonNull(problem, "problem");
        sha256 = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(sha256));
        Objects.requireNonNull(checkedAt, "checkedAt");
        Objects.requireNonNull(duration, "duration");
    }

    /** The report as an ordered, unmodifiable map of plain values (for health endpoints, logs). */
    public Map<String, Object> details() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("healthy", healthy);
        if (!healthy) {
            out.put("problem", problem);
        }
        out.put("jobId", jobId);
        out.put("modelFile", modelFile);
        out.put("precision", precision.name());
        out.put("sha256", sha256);
        out.put("goldenRows", goldenRows);
        out.put("maxGoldenDiff", maxGoldenDiff);
        out.put("atol", atol);
        out.put("javaVersion", javaVersion);
        out.put("onnxRuntimeVersion", onnxRuntimeVersion);
        out.put("clientVersion", clientVersion);
        out.put("checkedAt", checkedAt.toString());
        out.put("durationMillis", duration.toMillis());
        return java.util.Collections.unmodifiableMap(out);
    }
}
