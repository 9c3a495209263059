package dev.distillbridge.spec;

import java.util.OptionalDouble;

/**
 * Checks an artifact must pass on the server before it is handed over; a failed gate fails the
 * job with a message naming the gate and both numbers. Unset values take the server's defaults
 * (parity 1e-4, INT8 drop 0.01); no retention gate is applied unless {@link #setMinRetention}
 * is called. Fractions, as in Python's {@code Gates} and on the wire: 0.01 is one percentage
 * point, 0.95 is 95%.
 *
 * <pre>{@code new Gates().setMinRetention(0.95).setMaxInt8AccuracyDrop(0.01).setFp32Fallback(true)}</pre>
 */
public final class Gates {
    private Double maxParityError;
    private Double maxInt8AccuracyDrop;
    private Double minRetention;
    private boolean fp32Fallback;

    /**
     * Largest absolute logit difference allowed between the PyTorch student and its ONNX export
     * in ONNX Runtime (checked at pre-flight and on the test split), in (0, 1].
     */
    public Gates setMaxParityError(double maxParityError) {
        this.maxParityError = maxParityError;
        return this;
    }

    /** Test accuracy the INT8 model may lose against the fp32 student, as a fraction in [0, 1]. */
    public Gates setMaxInt8AccuracyDrop(double maxInt8AccuracyDrop) {
        this.maxInt8AccuracyDrop = maxInt8AccuracyDrop;
        return this;
    }

    /** Minimum shipped-student/teacher test accuracy ratio, in [0, 2] (0.95 = 95%). */
    public Gates setMinRetention(double minRetention) {
        this.minRetention = minRetention;
        return this;
    }

    /**
     * When only the INT8 gate fails, ship the fp32 model instead of failing the job; the result
     * then says so ({@link dev.distillbridge.client.DistillationResult#int8Fallback()}).
     */
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

    @Override
    public String toString() {
        return "Gates{maxParityError=" + maxParityError + ", maxInt8AccuracyDrop=" + maxInt8AccuracyDrop
                + ", minRetention=" + minRetention + ", fp32Fallback=" + fp32Fallback + "}";
    }

    private static OptionalDouble optional(Double value) {
        return value == null ? OptionalDouble.empty() : OptionalDouble.of(value);
    }
}
