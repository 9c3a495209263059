package dev.distillbridge.tokenizer;

import java.text.Normalizer;
import java.util.Locale;

/**
 * Hugging Face's {@code BertNormalizer}, in its order: clean text, space out CJK ideographs,
 * strip accents (NFD, drop non-spacing marks), lower-case. Immutable.
 *
 * @param cleanText drop control characters, NUL and U+FFFD; turn whitespace into a space
 * @param handleChineseChars surround every CJK ideograph with spaces
 * @param stripAccents strip accents (tokenizer.json's {@code strip_accents: null} means "as {@code lowercase}")
 * @param lowercase lower-case every code point
 */
record BertNormalizer(boolean cleanText, boolean handleChineseChars, boolean stripAccents, boolean lowercase) {
    /** The identity normalizer, for a tokenizer.json whose {@code normalizer} is null. */
    static final BertNormalizer NONE = new BertNormalizer(false, false, false, false);

    String normalize(String text) {
        String out = cleanAndSpace(text);
        if (stripAccents) {
            out = stripAccents(out);
        }
        return lowercase ? lowercase(out) : out;
    }

    // Plain loops over code points, not codePoints() streams: each stream pipeline and lambda
    // is a class spun at first use, which a cold start (the golden texts) pays for.
    private String cleanAndSpace(String text) {
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cleanText && (cp == 0 || cp == 0xFFFD || BertChars.isControl(cp))) {
                continue;
            }
            int c = cleanText && BertChars.isWhitespace(cp) ? ' ' : cp;
            if (handleChineseChars && BertChars.isChinese(c)) {
                out.append(' ').appendCodePoint(c).append(' ');
            } else {
                out.appendCodePoint(c);
            }
        }
        return out.toString();
    }

    private static String stripAccents(String text) {
        if (isAscii(text)) {
            return text; // ASCII is already NFD and has no marks
        }
        String nfd = Normalizer.normalize(text, Normalizer.Form.NFD);
        StringBuilder out = new StringBuilder(nfd.length());
        for (int i = 0; i < nfd.length(); ) {
            int cp = nfd.codePointAt(i);
            i += Character.charCount(cp);
            if (!BertChars.isNonSpacingMark(cp)) {
                out.appendCodePoint(cp);
            }
        }
        return out.toString();
    }

    private static boolean isAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    /**
     * Lower-cases code point by code point, with full (multi-character) mappings and no context,
     * as Rust's {@code char::to_lowercase} does: U+0130 becomes "i̇", and a capital sigma is
     * always σ, never the final ς that {@link String#toLowerCase} picks at the end of a word.
     */
    private static String lowercase(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp < 0x80) {
                out.append((char) (cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp));
            } else {
                out.append(new String(Character.toChars(cp)).toLowerCase(Locale.ROOT));
            }
        }
        return out.toString();
    }
}
