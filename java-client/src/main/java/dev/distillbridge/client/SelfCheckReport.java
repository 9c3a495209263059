package dev.distillbridge.client;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The outcome of {@link DistilledModel#selfCheck()}: the artifact's files re-hashed on disk and
 * its golden vectors replayed through the live ONNX Runtime session. Immutable.
 *
 * @param modelId the artifact's job id (manifest {@code job_id})
 * @param precision the model that was checked
 * @param filesVerified names of the files whose size and SHA-256 matched the manifest
 * @param maxGoldenDiff the largest absolute difference between the live outputs and the golden
 *     outputs; {@link Double#NaN} when the golden vectors could not be replayed
 * @param goldenTolerance the tolerance the manifest allows ({@code atol})
 * @param onnxRuntimeVersion the version of the ONNX Runtime native library in this JVM
 * @param checkedAt when the check started
 * @param duration how long it took
 * @param problems what failed, each naming the file and the numbers; empty when the check passed
 */
public record SelfCheckReport(String modelId, Precision precision, List<String> filesVerified, double maxGoldenDiff,
        double goldenTolerance, String onnxRuntimeVersion, Instant checkedAt, Duration duration,
        List<String> problems) {
    /** Copies the lists, so a report never changes. */
    public SelfCheckReport {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(precision, "precision");
        filesVerified = List.copyOf(filesVerified);
        Objects.requireNonNull(onnxRuntimeVersion, "onnxRuntimeVersion");
        Objects.requireNonNull(checkedAt, "checkedAt");
        Objects.requireNonNull(duration, "duration");
        problems = List.copyOf(problems);
    }

    /** True when every file matched and the golden vectors were reproduced within tolerance. */
    public boolean passed() {
        return problems.isEmpty();
    }
}
