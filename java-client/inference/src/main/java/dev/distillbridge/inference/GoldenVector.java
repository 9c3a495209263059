package dev.distillbridge.inference;

import java.util.Arrays;
import java.util.List;

/**
 * A few inputs and the outputs Python's ONNX Runtime produced for them on one exact model
 * file; {@link DistilledModel#load} replays them and must agree within {@link #atol()}.
 *
 * <p>Numeric models (tabular, image) record float inputs. Text models record the raw
 * {@link #texts()} and the {@link #inputIds()} and {@link #attentionMask()} Python's tokenizer
 * made of them as one batch; the loader tokenizes the texts itself and must reproduce those ids
 * exactly before it compares outputs. Arrays are flattened row-major; accessors return copies.
 */
public final class GoldenVector {
    private static final float[] NO_FLOATS = new float[0];
    private static final long[] NO_LONGS = new long[0];

    private final String modelFile;
    private final boolean text;
    private final long[] inputShape;
    private final float[] input;
    private final List<String> texts;
    private final long[] inputIds;
    private final long[] attentionMask;
    private final long[] outputShape;
    private final float[] output;
    private final double atol;

    private GoldenVector(String modelFile, boolean text, long[] inputShape, float[] input, List<String> texts,
            long[] inputIds, long[] attentionMask, long[] outputShape, float[] output, double atol) {
        this.modelFile = modelFile;
        this.text = text;
        this.inputShape = inputShape.clone();
        this.input = input.clone();
        this.texts = List.copyOf(texts);
        this.inputIds = inputIds.clone();
        this.attentionMask = attentionMask.clone();
        this.outputShape = outputShape.clone();
        this.output = output.clone();
        this.atol = atol;
    }

    static GoldenVector numeric(String modelFile, long[] inputShape, float[] input, long[] outputShape,
            float[] output, double atol) {
        return new GoldenVector(modelFile, false, inputShape, input, List.of(), NO_LONGS, NO_LONGS, outputShape,
                output, atol);
    }

    static GoldenVector text(String modelFile, List<String> texts, long[] inputShape, long[] inputIds,
            long[] attentionMask, long[] outputShape, float[] output, double atol) {
        return new GoldenVector(modelFile, true, inputShape, NO_FLOATS, texts, inputIds, attentionMask,
                outputShape, output, atol);
    }

    /** The model file these vectors belong to, e.g. {@code model.int8.onnx}. */
    public String modelFile() {
        return modelFile;
    }

    /** True for a text model's vectors: {@link #texts()} with their ids, no float input. */
    public boolean isText() {
        return text;
    }

    /** {@code [rows, features...]}, or {@code [texts, tokens]} for text. */
    public long[] inputShape() {
        return inputShape.clone();
    }

    /** The float inputs; empty for text. */
    public float[] input() {
        return input.clone();
    }

    /** The raw texts (text models only; empty otherwise). */
    public List<String> texts() {
        return texts;
    }

    /** The token ids Python's tokenizer produced for {@link #texts()}, padded, row-major. */
    public long[] inputIds() {
        return inputIds.clone();
    }

    /** 1 for real tokens, 0 for padding, row-major, shape {@link #inputShape()}. */
    public long[] attentionMask() {
        return attentionMask.clone();
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

    /**
     * The {@code row}-th input sample, flattened, ready for {@link DistilledModel#predict(float[])}.
     *
     * @throws IllegalStateException for text vectors, which have no float input (use {@link #texts()})
     */
    public float[] inputRow(int row) {
        if (isText()) {
            throw new IllegalStateException("text golden vectors have no float input; use texts()");
        }
        int width = input.length / Math.max(rows(), 1);
        if (row < 0 || row >= rows()) {
            throw new IndexOutOfBoundsException("row " + row + " of " + rows());
        }
        return Arrays.copyOfRange(input, row * width, (row + 1) * width);
    }

    float[] inputView() {
        return input;
    }

    long[] inputIdsView() {
        return inputIds;
    }

    long[] attentionMaskView() {
        return attentionMask;
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
