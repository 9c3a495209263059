package dev.distillbridge.client;

import java.util.OptionalDouble;

/**
 * Checks an artifact must pass on the server before it is handed over. Unset values take the
 * server's defaults; no retention gate is applied unless {@link #setMinRetention} is called.
 *
 * <pre>{@code new Gates().setMinRetention(0.96).setFp32Fallback(true)}</pre>
 *
 * Accuracies are fractions, as on the wire and in Python: 0.96 = 96%, 0.01 = one point.
 */
public final class Gates {
    private Double maxParityError;
    private Double maxInt8AccuracyDrop;
    private Double minRetention;
    private boolean fp32Fallback;

    /** Largest absolute difference allowed between the PyTorch student and its ONNX export. */
    public Gates setMaxParityError(double maxParityError) {
        this.maxParityError = maxParityError;
        return this;
    }

    /** Test accuracy the INT8 model may lose against the fp32 student, as a fraction (0.01 = 1 point); >= 0. */
    public Gates setMaxInt8AccuracyDrop(double maxInt8AccuracyDrop) {
        this.maxInt8AccuracyDrop = maxInt8AccuracyDrop;
        return this;
    }

    /** Minimum student/teacher test accuracy ratio, as a fraction (0.96 = 96%); in [0, 2]. */
    public Gates setMinRetention(double minRetention) {
        this.minRetention = minRetention;
        return this;
    }

    /** When INT8 fails its gate, ship the fp32 model instead of failing the job. */
    public Gates setFp32Fallback(boolean fp32Fallback) {
        this.fp32Fallback = fp32Fallback;
        return this;
    }

    public OptionalDouble maxParityError() {
        return optional(maxParityError);
    }

    public OptionalDouble maxInt8AccuracyDrop() {
        return optional(maxInt8AccuracyDrop);
    }

    public OptionalDouble minRetention() {
        return optional(minRetention);
    }

    public boolean fp32Fallback() {
        return fp32Fallback;
    }

    dev.distillbridge.proto.v1.Gates toProto(Problems problems) {
        problems.requireFiniteNonNegative("gates.max_parity_error", maxParityError);
        problems.requireFiniteNonNegative("gates.max_int8_accuracy_drop", maxInt8AccuracyDrop);
        if (minRetention != null && !(minRetention >= 0 && minRetention <= 2)) {
            problems.add("gates.min_retention", "must be a ratio in [0, 2] (0.96 = 96%), got " + minRetention);
        }
        var builder = dev.distillbridge.proto.v1.Gates.newBuilder().setFp32Fallback(fp32Fallback);
        maxParityError().ifPresent(builder::setMaxParityError);
        maxInt8AccuracyDrop().ifPresent(builder::setMaxInt8AccuracyDrop);
        minRetention().ifPresent(builder::setMinRetention);
        return builder.build();
    }

    @Override
    public String toString() {
        return "Gates{maxParityError=" + maxParityError + ", maxInt8AccuracyDrop=" + maxInt8AccuracyDrop
                + ", minRetention=" + minRetention + ", fp32Fallback=" + fp32Fallback + "}";
    }

    private static OptionalDouble optional(Double value) {
        return value == null ? OptionalDouble.empty() : OptionalDouble.of(value);
    }
}
