package dev.distillbridge.inference;

import dev.distillbridge.tokenizer.TokenizedBatch;
import dev.distillbridge.tokenizer.Tokenizer;
import dev.distillbridge.tokenizer.WordPieceTokenizer;
import java.io.UncheckedIOException;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** The checks {@link DistilledModel} runs on a text artifact: inputs, tokenizer, golden ids. */
final class TextArtifact {
    static final String INPUT_IDS = "input_ids";
    static final String ATTENTION_MASK = "attention_mask";
    private static final String INT64 = "int64";
    private static final int QUOTE_CHARS = 60;

    private TextArtifact() {
    }

    /** Checks that the model takes exactly int64 {@code input_ids} and {@code attention_mask}. */
    static void checkInputs(ArtifactManifest manifest) {
        List<TensorSpec> inputs = manifest.inputs();
        // plain loops, not streams: each stream pipeline and lambda costs class spinning in a cold JVM
        Set<String> names = new HashSet<>();
        boolean int64 = true;
        for (TensorSpec input : inputs) {
            names.add(input.name());
            int64 &= INT64.equals(input.dtype());
        }
        if (inputs.size() != 2 || !names.equals(Set.of(INPUT_IDS, ATTENTION_MASK)) || !int64) {
            throw new ModelException(ModelException.Code.UNSUPPORTED_FORMAT, ManifestJson.FILE, ManifestJson.FILE
                    + ": a text model must take int64 inputs '" + INPUT_IDS + "' and '" + ATTENTION_MASK
                    + "', but 'inputs' is " + inputs);
        }
    }

    /**
     * Reads the artifact's tokenizer file once, checks those bytes' size and SHA-256 (or finds
     * a record of that check, see {@link VerificationRecords}), and loads
     * the tokenizer from them with the manifest's max length and pad id, checking it agrees with
     * the manifest's description.
     */
    static Tokenizer tokenizer(Path dir, ArtifactManifest manifest, VerificationRecords records) {
        TokenizerSpec spec = manifest.tokenizer().orElseThrow();
        String file = spec.file();
        requireSupported(file, "type", spec.type(), TokenizerSpec.WORDPIECE);
        requireSupported(file, "padding", spec.padding(), TokenizerSpec.PAD_TO_LONGEST);
        if (!manifest.files().containsKey(file)) {
            throw new ModelException(ModelException.Code.MANIFEST_INVALID, file,
                    file + " is not listed under files in manifest.json, so its SHA-256 cannot be checked");
        }
        WordPieceTokenizer tokenizer;
        try {
            ArtifactFile listed = manifest.files().get(file);
            VerificationRecords.Read json = records.read(ArtifactFiles.resolve(dir, file), listed);
            records.confirm(json, listed);
            tokenizer = WordPieceTokenizer.fromJson(new String(json.bytes(), StandardCharsets.UTF_8), spec.maxLength(),
                    spec.padId());
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new ModelException(ModelException.Code.TOKENIZER_INVALID, file, "cannot load " + file + ": " + e.getMessage(), e);
        }
        if (tokenizer.lowercase() != spec.lowercase() || tokenizer.stripAccents() != spec.stripAccents()) {
            throw new ModelException(ModelException.Code.TOKENIZER_INVALID, file, String.format(Locale.ROOT,
                    "%s lower-cases %s and strips accents %s, but manifest.json says lowercase %s, strip_accents %s",
                    file, tokenizer.lowercase(), tokenizer.stripAccents(), spec.lowercase(), spec.stripAccents()));
        }
        return tokenizer;
    }

    /**
     * Checks that this JVM's tokenizer reproduced the golden ids and mask exactly; on a mismatch
     * names the first text and token position that differ.
     */
    static void checkGoldenIds(GoldenVector golden, TokenizedBatch batch) {
        long[] expectedShape = golden.inputShapeView();
        int width = (int) expectedShape[1];
        for (int row = 0; row < batch.rows(); row++) {
            long[] actual = batch.ids(row);
            long[] expected = realTokens(golden, row, width);
            int at = Arrays.mismatch(actual, expected);
            if (at >= 0) {
                throw mismatch(golden, String.format(Locale.ROOT,
                        "token ids differ for text %d (\"%s\") at token %d: Java's tokenizer gives %s, Python's gave %s (Java %s, Python %s)",
                        row, quote(golden.texts().get(row)), at, valueAt(actual, at), valueAt(expected, at),
                        Arrays.toString(actual), Arrays.toString(expected)));
            }
        }
        if (!Arrays.equals(batch.shape(), expectedShape) || !batch.idsBuffer().equals(LongBuffer.wrap(golden.inputIdsView()))
                || !batch.attentionMaskBuffer().equals(LongBuffer.wrap(golden.attentionMaskView()))) {
            throw mismatch(golden, "the padding differs: Java's batch has shape " + Arrays.toString(batch.shape())
                    + ", Python's " + Arrays.toString(expectedShape) + " (check tokenizer.pad_id)");
        }
    }

    private static long[] realTokens(GoldenVector golden, int row, int width) {
        long[] mask = golden.attentionMaskView();
        int real = 0;
        while (real < width && mask[row * width + real] == 1) {
            real++;
        }
        return Arrays.copyOfRange(golden.inputIdsView(), row * width, row * width + real);
    }

    private static ModelException mismatch(GoldenVector golden, String detail) {
        return new ModelException(ModelException.Code.GOLDEN_MISMATCH, golden.modelFile(), "golden vector mismatch in "
                + golden.modelFile() + ": " + detail);
    }

    private static String valueAt(long[] ids, int index) {
        return index < ids.length ? Long.toString(ids[index]) : "no token";
    }

    private static String quote(String text) {
        return text.length() <= QUOTE_CHARS ? text : text.substring(0, QUOTE_CHARS) + "...";
    }

    private static void requireSupported(String file, String key, String value, String supported) {
        if (!supported.equals(value)) {
            throw new ModelException(ModelException.Code.UNSUPPORTED_FORMAT, file, ManifestJson.FILE + ": tokenizer." + key + " '" + value
                    + "' is not supported by this client (only '" + supported + "')");
        }
    }
}
