package dev.distillbridge.bench;

import dev.distillbridge.tokenizer.TokenizedBatch;
import dev.distillbridge.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;

/**
 * One call's input in every form an engine may take, built before timing starts: rows for the
 * wrapper's float API, a flat row-major copy for raw ORT, texts for the wrapper's text API, and
 * the token ids the client's tokenizer gives those texts (fed to raw ORT as they are).
 */
public record Request(int rows, float[][] floats, float[] flat, long[] shape, List<String> texts,
        long[] ids, long[] mask) {

    public static Request of(Inputs in, int start, int size, Tokenizer tokenizer) {
        if (in.isText()) {
            List<String> texts = List.copyOf(in.texts().subList(start, start + size));
            if (tokenizer == null) {
                return new Request(size, null, null, null, texts, null, null);
            }
            TokenizedBatch b = tokenizer.encodeBatch(texts);
            return new Request(size, null, null, b.shape(), texts, b.ids(), b.attentionMask());
        }
        float[][] rows = Arrays.copyOfRange(in.rows(), start, start + size);
        int width = rows[0].length;
        float[] flat = new float[size * width];
        for (int i = 0; i < size; i++) {
            System.arraycopy(rows[i], 0, flat, i * width, width);
        }
        return new Request(size, rows, flat, new long[] {size, width}, null, null, null);
    }

    /** The requests for batches of {@code size} over the inputs (the tail that does not fill one is left out). */
    public static Request[] batches(Inputs in, int size, Tokenizer tokenizer) {
        Request[] out = new Request[in.size() / size];
        for (int i = 0; i < out.length; i++) {
            out[i] = of(in, i * size, size, tokenizer);
        }
        return out;
    }
}
