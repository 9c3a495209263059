package dev.distillbridge.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * A BERT WordPiece tokenizer read from a Hugging Face {@code tokenizer.json}, giving the same ids
 * as Python's {@code tokenizers} library with {@code enable_truncation(maxLength)}: added tokens
 * (such as a literal {@code [MASK]}) matched in the raw text, then {@code BertNormalizer} (clean
 * text, space out CJK ideographs, strip accents, lower-case), {@code BertPreTokenizer} (split on
 * whitespace and punctuation), greedy longest-match WordPiece with {@code ##} continuations and
 * {@code [UNK]} for words it cannot piece together or longer than 100 characters, truncation to
 * {@code maxLength} tokens including the specials, and {@code [CLS] ... [SEP]}.
 *
 * <pre>{@code
 * WordPieceTokenizer tokenizer = WordPieceTokenizer.load(dir.resolve("tokenizer.json"), 64);
 * int[] ids = tokenizer.encode("@united thanks!");       // [101, 1030, 2142, 4283, 999, 102]
 * TokenizedBatch batch = tokenizer.encodeBatch(texts);     // padded to the longest, with a mask
 * }</pre>
 *
 * <p>Pure Java (no native library), immutable and thread-safe. The file's own {@code truncation}
 * and {@code padding} blocks are ignored: {@code maxLength} and the pad id are given here (an
 * artifact takes them from its manifest).
 */
public final class WordPieceTokenizer implements Tokenizer {
    private final Map<String, Integer> vocab;
    private final BertNormalizer normalizer;
    private final List<TokenizerJson.AddedToken> addedTokens;
    private final int unkId;
    private final String continuingPrefix;
    private final int maxInputCharsPerWord;
    private final int[] prefixIds;
    private final int[] suffixIds;
    private final int maxLength;
    private final long padId;

    private WordPieceTokenizer(TokenizerJson.Parts parts, int maxLength, long padId) {
        this.vocab = parts.vocab();
        this.normalizer = parts.normalizer();
        this.addedTokens = parts.addedTokens();
        this.continuingPrefix = parts.continuingPrefix();
        this.maxInputCharsPerWord = parts.maxInputCharsPerWord();
        this.prefixIds = parts.prefixIds().clone();
        this.suffixIds = parts.suffixIds().clone();
        this.maxLength = maxLength;
        this.padId = padId;
        Integer unk = vocab.get(parts.unkToken());
        if (unk == null) {
            throw new IllegalArgumentException("tokenizer.json: unk_token '" + parts.unkToken()
                    + "' is not in model.vocab");
        }
        this.unkId = unk;
        int specials = prefixIds.length + suffixIds.length;
        if (maxLength < specials) {
            throw new IllegalArgumentException("maxLength " + maxLength + " leaves no room for the " + specials
                    + " special tokens the post-processor adds");
        }
    }

    /**
     * Reads a tokenizer.json. The pad id is the file's {@code padding.pad_id}, else the id of
     * {@code [PAD]}, else 0.
     *
     * @param maxLength the most tokens per text, {@code [CLS]} and {@code [SEP]} included
     * @throws IllegalArgumentException when the file is not a BERT WordPiece tokenizer this class
     *     reproduces exactly, or maxLength is too small
     * @throws UncheckedIOException when the file cannot be read
     */
    public static WordPieceTokenizer load(Path tokenizerJson, int maxLength) {
        TokenizerJson.Parts parts = TokenizerJson.parse(read(tokenizerJson));
        long padId = parts.padId() != null ? parts.padId() : parts.vocab().getOrDefault("[PAD]", 0);
        return new WordPieceTokenizer(parts, maxLength, padId);
    }

    /** As {@link #load(Path, int)}, padding batches with {@code padId}. */
    public static WordPieceTokenizer load(Path tokenizerJson, int maxLength, long padId) {
        return new WordPieceTokenizer(TokenizerJson.parse(read(tokenizerJson)), maxLength, padId);
    }

    /**
     * As {@link #load(Path, int, long)}, from the file's content already read (e.g. bytes whose
     * SHA-256 was just checked, so what is parsed is what was checked).
     *
     * @throws IllegalArgumentException as {@link #load(Path, int)}
     */
    public static WordPieceTokenizer fromJson(String tokenizerJson, int maxLength, long padId) {
        return new WordPieceTokenizer(TokenizerJson.parse(tokenizerJson), maxLength, padId);
    }

    /** The ids of one text: {@code [CLS]}, its tokens (truncated to fit), {@code [SEP]}; no padding. */
    @Override
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        IntBuffer content = new IntBuffer();
        splitOnAddedTokens(text, content);
        int keep = Math.min(content.size(), maxLength - prefixIds.length - suffixIds.length);
        int[] ids = new int[prefixIds.length + keep + suffixIds.length];
        System.arraycopy(prefixIds, 0, ids, 0, prefixIds.length);
        content.copyTo(ids, prefixIds.length, keep);
        System.arraycopy(suffixIds, 0, ids, prefixIds.length + keep, suffixIds.length);
        return ids;
    }

    /** The most tokens per text, specials included. */
    @Override
    public int maxLength() {
        return maxLength;
    }

    /** The id batches are padded with. */
    @Override
    public long padId() {
        return padId;
    }

    /** Whether the normalizer lower-cases (tokenizer.json's {@code normalizer.lowercase}). */
    public boolean lowercase() {
        return normalizer.lowercase();
    }

    /** Whether the normalizer strips accents ({@code strip_accents}, or {@code lowercase} when that is null). */
    public boolean stripAccents() {
        return normalizer.stripAccents();
    }

    /** The number of entries in the WordPiece vocabulary. */
    public int vocabSize() {
        return vocab.size();
    }

    /** The id of a vocabulary entry, e.g. {@code tokenId("[CLS]")}. */
    public OptionalInt tokenId(String token) {
        Integer id = vocab.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public String toString() {
        return "WordPieceTokenizer{vocab=" + vocab.size() + ", maxLength=" + maxLength + ", padId=" + padId
                + ", " + normalizer + "}";
    }

    /** Added tokens match the raw text first; the text between them is normalized and split. */
    private void splitOnAddedTokens(String text, IntBuffer out) {
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            TokenizerJson.AddedToken token = addedTokenAt(text, i);
            if (token == null) {
                i++;
                continue;
            }
            encodeSegment(text.substring(start, i), out);
            out.add(token.id());
            i += token.content().length();
            start = i;
        }
        encodeSegment(text.substring(start), out);
    }

    private TokenizerJson.AddedToken addedTokenAt(String text, int index) {
        for (TokenizerJson.AddedToken token : addedTokens) {
            if (text.startsWith(token.content(), index)) {
                return token;
            }
        }
        return null;
    }

    /** BertPreTokenizer: whitespace ends a word; each punctuation character is a word of its own. */
    private void encodeSegment(String segment, IntBuffer out) {
        String normalized = normalizer.normalize(segment);
        int wordStart = 0;
        int i = 0;
        while (i < normalized.length()) {
            int cp = normalized.codePointAt(i);
            int next = i + Character.charCount(cp);
            boolean space = BertChars.isWhitespace(cp);
            if (space || BertChars.isPunctuation(cp)) {
                wordPiece(normalized.substring(wordStart, i), out);
                if (!space) {
                    wordPiece(normalized.substring(i, next), out);
                }
                wordStart = next;
            }
            i = next;
        }
        wordPiece(normalized.substring(wordStart), out);
    }

    /** Greedy longest-match-first WordPiece; a word that cannot be pieced together is one [UNK]. */
    private void wordPiece(String word, IntBuffer out) {
        if (word.isEmpty()) {
            return;
        }
        if (word.codePointCount(0, word.length()) > maxInputCharsPerWord) {
            out.add(unkId);
            return;
        }
        int mark = out.size();
        int start = 0;
        while (start < word.length()) {
            int end = longestPieceEnd(word, start, out);
            if (end < 0) {
                out.truncate(mark);
                out.add(unkId);
                return;
            }
            start = end;
        }
    }

    /** Adds the id of the longest vocabulary piece at {@code start}; returns its end, or -1. */
    private int longestPieceEnd(String word, int start, IntBuffer out) {
        for (int end = word.length(); end > start; end = word.offsetByCodePoints(end, -1)) {
            String piece = word.substring(start, end);
            Integer id = vocab.get(start > 0 ? continuingPrefix + piece : piece);
            if (id != null) {
                out.add(id);
                return end;
            }
        }
        return -1;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** A growable int array, so token ids are not boxed. */
    private static final class IntBuffer {
        private int[] values = new int[64];
        private int size;

        void add(int value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        int size() {
            return size;
        }

        void truncate(int newSize) {
            size = newSize;
        }

        void copyTo(int[] target, int offset, int count) {
            System.arraycopy(values, 0, target, offset, count);
        }
    }
}
