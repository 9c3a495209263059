package dev.distillbridge.client;

import java.util.Arrays;

/**
 * A few inputs and the outputs Python's ONNX Runtime produced for them on one exact model
 * file; {@link DistilledModel#load} replays them and must agree within {@link #atol()}.
 * Arrays are flattened row-major; accessors return copies.
 */
public final class GoldenVector {
    private final String modelFile;
    private final long[] inputShape;
    private final float[] input;
    private final long[] outputShape;
    private final float[] output;
    private final double atol;

    GoldenVector(String modelFile, long[] inputShape, float[] input, long[] outputShape, float[] output,
            double atol) {
        this.modelFile = modelFile;
        this.inputShape = inputShape.clone();
        this.input = input.clone();
        this.outputShape = outputShape.clone();
        this.output = output.clone();
        this.atol = atol;
    }

    /** The model file these vectors belong to, e.g. {@code model.int8.onnx}. */
    public String modelFile() {
        return modelFile;
    }

    public long[] inputShape() {
        return inputShape.clone();
    }

    public float[] input() {
        return input.clone();
    }

    public long[] outputShape() {
        return outputShape.clone();
    }

    public float[] output() {
        return output.clone();
    }

    /** Largest absolute difference allowed per output element. */
    public double atol() {
        return atol;
    }

    /** Number of samples (the batch dimension of {@link #inputShape()}). */
    public int rows() {
        return inputShape.length == 0 ? 0 : (int) inputShape[0];
    }

    /** The {@code row}-th input sample, flattened, ready for {@link DistilledModel#predict(float[])}. */
    public float[] inputRow(int row) {
        int width = input.length / Math.max(rows(), 1);
        if (row < 0 || row >= rows()) {
            throw new IndexOutOfBoundsException("row " + row + " of " + rows());
        }
        return Arrays.copyOfRange(input, row * width, (row + 1) * width);
    }

    float[] inputView() {
        return input;
    }

    float[] outputView() {
        return output;
    }

    long[] inputShapeView() {
        return inputShape;
    }

    long[] outputShapeView() {
        return outputShape;
    }
}
