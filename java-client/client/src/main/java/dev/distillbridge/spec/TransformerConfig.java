package dev.distillbridge.spec;

/**
 * A BERT-like Transformer-encoder student using the teacher's tokenizer, e.g. two layers
 * initialised from the teacher's:
 * {@code new TransformerConfig().setLayers(2).setHiddenSize(384).setInitFromTeacher(true)}.
 * The defaults are Python's {@code TransformerConfig()}: 2 layers, hidden size 384, 12 heads,
 * intermediate size 1536, max sequence length 128, initialised from the teacher, vocabulary
 * pruned to the training split's tokens.
 */
public final class TransformerConfig implements StudentConfig {
    private int layers = 2;
    private int hiddenSize = 384;
    private int heads = 12;
    private int intermediateSize = 1536;
    private int maxSeqLen = 128;
    private boolean initFromTeacher = true;
    private boolean pruneVocabulary = true;

    /** Number of encoder layers; > 0. */
    public TransformerConfig setLayers(int layers) {
        this.layers = layers;
        return this;
    }

    /** Width of the hidden states; > 0 and divisible by the number of heads. */
    public TransformerConfig setHiddenSize(int hiddenSize) {
        this.hiddenSize = hiddenSize;
        return this;
    }

    /** Attention heads per layer; > 0. */
    public TransformerConfig setHeads(int heads) {
        this.heads = heads;
        return this;
    }

    /** Width of the feed-forward block; > 0. */
    public TransformerConfig setIntermediateSize(int intermediateSize) {
        this.intermediateSize = intermediateSize;
        return this;
    }

    /** Longest token sequence the student accepts; > 0. */
    public TransformerConfig setMaxSeqLen(int maxSeqLen) {
        this.maxSeqLen = maxSeqLen;
        return this;
    }

    /**
     * Copy the teacher's embeddings and every k-th layer before training (DistilBERT-style) when
     * the widths match; otherwise the student starts random and learns projections for the
     * feature losses.
     */
    public TransformerConfig setInitFromTeacher(boolean initFromTeacher) {
        this.initFromTeacher = initFromTeacher;
        return this;
    }

    /**
     * Keep only the tokens the teacher's tokenizer produces on the training split (plus its
     * special tokens); the artifact's {@code tokenizer.json} is renumbered for them, so the
     * embedding table, most of a small student's weights, shrinks to the task's vocabulary
     * (airline tweets: 9,114 of 30,522 tokens). A word never seen in training is pieced together
     * from shorter kept tokens, or becomes {@code [UNK]}. On by default; {@code false} keeps the
     * teacher's whole vocabulary.
     */
    public TransformerConfig setPruneVocabulary(boolean pruneVocabulary) {
        this.pruneVocabulary = pruneVocabulary;
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

    public boolean pruneVocabulary() {
        return pruneVocabulary;
    }

    @Override
    public String toString() {
        return "TransformerConfig{layers=" + layers + ", hiddenSize=" + hiddenSize + ", heads=" + heads
                + ", intermediateSize=" + intermediateSize + ", maxSeqLen=" + maxSeqLen
                + ", initFromTeacher=" + initFromTeacher + ", pruneVocabulary=" + pruneVocabulary + "}";
    }
}
