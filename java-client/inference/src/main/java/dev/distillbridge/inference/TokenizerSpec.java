package dev.distillbridge.inference;

/**
 * The {@code tokenizer} block of a text artifact's manifest.json: which file holds the
 * Hugging Face tokenizer and how texts are cut and padded.
 *
 * @param file the tokenizer file in the artifact, e.g. {@code tokenizer.json}
 * @param type the tokenization algorithm; {@code "wordpiece"} is the one this client runs
 * @param maxLength the most tokens per text, {@code [CLS]} and {@code [SEP]} included
 * @param lowercase whether the tokenizer lower-cases text
 * @param stripAccents whether the tokenizer strips accents
 * @param padId the id a batch is padded with
 * @param padToken the padding token, e.g. {@code [PAD]}
 * @param unkToken the unknown-word token, e.g. {@code [UNK]}
 * @param clsToken the token before each text, e.g. {@code [CLS]}
 * @param sepToken the token after each text, e.g. {@code [SEP]}
 * @param padding how a batch is padded; {@code "longest"}: to its longest text
 */
public record TokenizerSpec(String file, String type, int maxLength, boolean lowercase, boolean stripAccents,
        long padId, String padToken, String unkToken, String clsToken, String sepToken, String padding) {
    /** The only {@link #type()} this client runs. */
    public static final String WORDPIECE = "wordpiece";
    /** The only {@link #padding()} this client runs. */
    public static final String PAD_TO_LONGEST = "longest";
}
