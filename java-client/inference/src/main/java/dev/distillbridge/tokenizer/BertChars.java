package dev.distillbridge.tokenizer;

/**
 * The character classes of Hugging Face {@code tokenizers}' BERT normalizer and pre-tokenizer.
 * Control characters, punctuation and non-spacing marks come from {@link BertCharTables}, read
 * off the Python library for every code point, because the JVM's Unicode tables differ from the
 * Rust crates' (and change with the JVM version); WordPieceTokenizerTest checks every code point.
 */
final class BertChars {
    private BertChars() {
    }

    /**
     * Rust's {@code char::is_whitespace} (the Unicode White_Space property), which also covers the
     * tab, newline and carriage return that BERT counts as whitespace rather than control.
     */
    static boolean isWhitespace(int cp) {
        return switch (cp) {
            case '\t', '\n', 0x0B, 0x0C, '\r', ' ', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F,
                    0x3000 -> true;
            default -> cp >= 0x2000 && cp <= 0x200A;
        };
    }

    /** Dropped by {@code clean_text}, with NUL and U+FFFD: control, format and private-use characters. */
    static boolean isControl(int cp) {
        return inRanges(BertCharTables.CONTROL, cp);
    }

    /**
     * Isolated by the BERT pre-tokenizer: ASCII punctuation (33-47, 58-64, 91-96, 123-126, which
     * includes symbols such as {@code $ + < = > ^ ` | ~}) and the Unicode punctuation categories (P*).
     */
    static boolean isPunctuation(int cp) {
        return inRanges(BertCharTables.PUNCTUATION, cp);
    }

    /** Removed by {@code strip_accents} after NFD: non-spacing marks (Mn). */
    static boolean isNonSpacingMark(int cp) {
        return cp >= 0x300 && inRanges(BertCharTables.NON_SPACING_MARK, cp);
    }

    /** The CJK ideograph blocks that {@code handle_chinese_chars} surrounds with spaces. */
    static boolean isChinese(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF)
                || (cp >= 0x3400 && cp <= 0x4DBF)
                || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F)
                || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B920 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    /** Binary search in ascending inclusive {@code [start, end]} pairs. */
    static boolean inRanges(int[] ranges, int cp) {
        int lo = 0;
        int hi = ranges.length / 2 - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (cp < ranges[2 * mid]) {
                hi = mid - 1;
            } else if (cp > ranges[2 * mid + 1]) {
                lo = mid + 1;
            } else {
                return true;
            }
        }
        return false;
    }
}
