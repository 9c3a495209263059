package dev.distillbridge.tokenizer;

import java.nio.LongBuffer;
import java.util.Arrays;

/**
 * Token ids and attention mask of a batch of texts, padded to its longest text, as the
 * {@code input_ids} and {@code attention_mask} tensors of a text model take them: shape
 * {@code [rows, length]}, flattened row-major. Immutable; accessors return copies.
 */
public final class TokenizedBatch {
    private final int rows;
    private final int length;
    private final long[] ids;
    private final long[] attentionMask;

    TokenizedBatch(int rows, int length, long[] ids, long[] attentionMask) {
        this.rows = rows;
        this.length = length;
        this.ids = ids;
        this.attentionMask = attentionMask;
    }

    /** Number of texts. */
    public int rows() {
        return rows;
    }

    /** Tokens per row: the longest text's, padding included for the others. */
    public int length() {
        return length;
    }

    /** {@code [rows, length]}. */
    public long[] shape() {
        return new long[] {rows, length};
    }

    /** All ids, row-major, padded with the pad id. */
    public long[] ids() {
        return ids.clone();
    }

    /** 1 for real tokens, 0 for padding, row-major. */
    public long[] attentionMask() {
        return attentionMask.clone();
    }

    /** The ids of one text without its padding. */
    public long[] ids(int row) {
        if (row < 0 || row >= rows) {
            throw new IndexOutOfBoundsException("row " + row + " of " + rows);
        }
        int real = 0;
        while (real < length && attentionMask[row * length + real] == 1) {
            real++;
        }
        return Arrays.copyOfRange(ids, row * length, row * length + real);
    }

    /** The ids, flattened row-major, as a read-only view (no copy): what a tensor is made from. */
    public LongBuffer idsBuffer() {
        return LongBuffer.wrap(ids).asReadOnlyBuffer();
    }

    /** The attention mask, flattened row-major, as a read-only view (no copy). */
    public LongBuffer attentionMaskBuffer() {
        return LongBuffer.wrap(attentionMask).asReadOnlyBuffer();
    }

    @Override
    public String toString() {
        return "TokenizedBatch{rows=" + rows + ", length=" + length + "}";
    }
}
