package dev.distillbridge.tokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Turns raw text into the token ids a text model takes. {@link WordPieceTokenizer} is the
 * implementation for BERT-style artifacts; {@code DistilledModel} picks one from the artifact's
 * manifest and runs it before every text prediction.
 *
 * <p>Implementations are immutable and thread-safe.
 */
public interface Tokenizer {
    /** The ids of one text, special tokens included, truncated to {@link #maxLength()}; no padding. */
    int[] encode(String text);

    /** The most tokens per text, special tokens included. */
    int maxLength();

    /** The id batches are padded with. */
    long padId();

    /**
     * Encodes each text alone, then pads them all with {@link #padId()} to the longest; the
     * attention mask is 1 for real tokens and 0 for padding.
     */
    default TokenizedBatch encodeBatch(List<String> texts) {
        Objects.requireNonNull(texts, "texts");
        int[][] rows = new int[texts.size()][];
        int longest = 0;
        for (int i = 0; i < rows.length; i++) {
            String text = texts.get(i);
            if (text == null) {
                throw new NullPointerException("texts[" + i + "] is null");
            }
            rows[i] = encode(text);
            longest = Math.max(longest, rows[i].length);
        }
        long[] ids = new long[rows.length * longest];
        long[] mask = new long[ids.length];
        Arrays.fill(ids, padId());
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < rows[i].length; j++) {
                ids[i * longest + j] = rows[i][j];
                mask[i * longest + j] = 1;
            }
        }
        return new TokenizedBatch(rows.length, longest, ids, mask);
    }
}
