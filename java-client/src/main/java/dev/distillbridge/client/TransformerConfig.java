package dev.distillbridge.client;

/**
 * A transformer-encoder student, e.g. two layers initialised from the teacher's:
 * {@code new TransformerConfig().setLayers(2).setHiddenSize(384).setInitFromTeacher(true)}.
 * A field left at 0 takes the server's default (usually the teacher's value).
 */
public final class TransformerConfig implements StudentConfig {
    private int layers;
    private int hiddenSize;
    private int heads;
    private int intermediateSize;
    private int maxSeqLen;
    private boolean initFromTeacher;

    /** Number of encoder layers. */
    public TransformerConfig setLayers(int layers) {
        this.layers = layers;
        return this;
    }

    /** Width of the hidden states; must be divisible by the number of heads. */
    public TransformerConfig setHiddenSize(int hiddenSize) {
        this.hiddenSize = hiddenSize;
        return this;
    }

    /** Attention heads per layer. */
    public TransformerConfig setHeads(int heads) {
        this.heads = heads;
        return this;
    }

    /** Width of the feed-forward block. */
    public TransformerConfig setIntermediateSize(int intermediateSize) {
        this.intermediateSize = intermediateSize;
        return this;
    }

    /** Longest token sequence the student accepts. */
    public TransformerConfig setMaxSeqLen(int maxSeqLen) {
        this.maxSeqLen = maxSeqLen;
        return this;
    }

    /** Copy embeddings and a subset of layers from the teacher before training. */
    public TransformerConfig setInitFromTeacher(boolean initFromTeacher) {
        this.initFromTeacher = initFromTeacher;
        return this;
    }

    public int layers() {
        return layers;
    }

    public int hiddenSize() {
        return hiddenSize;
    }

    public int heads() {
        return heads;
    }

    public int intermediateSize() {
        return intermediateSize;
    }

    public int maxSeqLen() {
        return maxSeqLen;
    }

    public boolean initFromTeacher() {
        return initFromTeacher;
    }

    dev.distillbridge.proto.v1.TransformerConfig toProto(Problems problems) {
        problems.requireNonNegative("student.transformer.layers", layers);
        problems.requireNonNegative("student.transformer.hidden_size", hiddenSize);
        problems.requireNonNegative("student.transformer.heads", heads);
        problems.requireNonNegative("student.transformer.intermediate_size", intermediateSize);
        problems.requireNonNegative("student.transformer.max_seq_len", maxSeqLen);
        if (hiddenSize > 0 && heads > 0 && hiddenSize % heads != 0) {
            problems.add("student.transformer.heads",
                    "hidden_size " + hiddenSize + " is not divisible by heads " + heads);
        }
        return dev.distillbridge.proto.v1.TransformerConfig.newBuilder()
                .setLayers(layers)
                .setHiddenSize(hiddenSize)
                .setHeads(heads)
                .setIntermediateSize(intermediateSize)
                .setMaxSeqLen(maxSeqLen)
                .setInitFromTeacher(initFromTeacher)
                .build();
    }

    @Override
    public String toString() {
        return "TransformerConfig{layers=" + layers + ", hiddenSize=" + hiddenSize + ", heads=" + heads
                + ", intermediateSize=" + intermediateSize + ", maxSeqLen=" + maxSeqLen
                + ", initFromTeacher=" + initFromTeacher + "}";
    }
}
