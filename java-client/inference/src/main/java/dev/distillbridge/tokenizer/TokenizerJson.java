package dev.distillbridge.tokenizer;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the parts of a Hugging Face {@code tokenizer.json} that a BERT WordPiece tokenizer
 * needs, refusing (with {@link IllegalArgumentException} naming the key) anything it would
 * silently get wrong. The file's own {@code truncation} and {@code padding} blocks are not
 * read: the artifact manifest decides those.
 */
final class TokenizerJson {
    private static final String FILE = "tokenizer.json";

    /** A token matched verbatim in the raw text before normalization (e.g. {@code [CLS]}). */
    record AddedToken(String content, int id) {
    }

    /** Everything {@link WordPieceTokenizer} is built from. */
    record Parts(Map<String, Integer> vocab, BertNormalizer normalizer, String unkToken, String continuingPrefix,
            int maxInputCharsPerWord, List<AddedToken> addedTokens, int[] prefixIds, int[] suffixIds,
            Integer padId) {
    }

    /** A vocabulary of this many entries or fewer fills the map without rehashing. */
    private static final int VOCAB_CAPACITY = 1 << 15;

    /** Longest content first (a stable sort keeps the file's order among equals). */
    private static final Comparator<AddedToken> LONGEST_FIRST = new Comparator<>() { // not a lambda: spun at first use
        @Override
        public int compare(AddedToken a, AddedToken b) {
            return Integer.compare(b.content().length(), a.content().length());
        }
    };

    private TokenizerJson() {
    }

    /** The document as a tree, except {@code model.vocab}: read straight into its map. */
    private record Document(JsonObject root, Map<String, Integer> vocab) {
    }

    /**
     * @throws IllegalArgumentException when the JSON is malformed or describes a tokenizer other
     *     than BERT WordPiece
     */
    static Parts parse(String json) {
        try {
            return parts(document(json));
        } catch (ClassCastException | IllegalStateException | UnsupportedOperationException
                | NullPointerException | NumberFormatException e) {
            throw new IllegalArgumentException(FILE + " is malformed: " + e, e);
        }
    }

    private static Parts parts(Document document) {
        JsonObject root = document.root();
        JsonObject model = object(root, "model");
        requireType(model, "model", "WordPiece");
        requirePreTokenizer(root);
        object(model, "vocab"); // present and an object (then read into document.vocab())
        Map<String, Integer> vocab = document.vocab();
        int[][] specials = postProcessor(root.get("post_processor"));
        return new Parts(vocab, normalizer(root.get("normalizer")), string(model, "unk_token", "model.unk_token"),
                optionalString(model, "continuing_subword_prefix", "##"),
                optionalInt(model, "max_input_chars_per_word", 100), addedTokens(root), specials[0], specials[1],
                padId(root));
    }

    /**
     * Parses the document as {@link JsonParser#parseString} does (leniently, the whole input),
     * except that the vocabulary, nearly all of the file, is streamed into a map instead of
     * becoming a tree of ~10^4 JSON nodes first: the part of a text model's cold start this
     * class costs is mostly that. The tree keeps an empty object in place of {@code model.vocab}.
     */
    private static Document document(String json) {
        try {
            JsonReader reader = new JsonReader(new StringReader(json));
            reader.setStrictness(Strictness.LENIENT); // as JsonParser.parseString
            if (reader.peek() != JsonToken.BEGIN_OBJECT) {
                JsonParser.parseString(json); // reports malformed JSON as before
                throw invalid(FILE + " is not a JSON object");
            }
            JsonObject root = new JsonObject();
            Map<String, Integer> vocab = null;
            reader.beginObject();
            while (reader.hasNext()) {
                String name = reader.nextName();
                if (name.equals("model") && reader.peek() == JsonToken.BEGIN_OBJECT) {
                    JsonObject model = new JsonObject();
                    vocab = null; // a repeated key: the last one counts, as in the tree
                    reader.beginObject();
                    while (reader.hasNext()) {
                        String key = reader.nextName();
                        if (key.equals("vocab") && reader.peek() == JsonToken.BEGIN_OBJECT) {
                            vocab = vocab(reader);
                            model.add(key, new JsonObject());
                        } else {
                            model.add(key, JsonParser.parseReader(reader));
                        }
                    }
                    reader.endObject();
                    root.add(name, model);
                } else {
                    root.add(name, JsonParser.parseReader(reader));
                }
            }
            reader.endObject();
            if (reader.peek() != JsonToken.END_DOCUMENT) {
                throw new JsonSyntaxException("Did not consume the entire document.");
            }
            return new Document(root, vocab);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(FILE + " is not valid JSON: " + e.getMessage(), e);
        } catch (IOException e) { // MalformedJsonException, the reader's own
            throw new IllegalArgumentException(FILE + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    private static BertNormalizer normalizer(JsonElement element) {
        if (element == null || element.isJsonNull()) {
            return BertNormalizer.NONE;
        }
        JsonObject n = element.getAsJsonObject();
        requireType(n, "normalizer", "BertNormalizer");
        boolean lowercase = bool(n, "lowercase", true);
        JsonElement strip = n.get("strip_accents");
        boolean stripAccents = strip == null || strip.isJsonNull() ? lowercase : strip.getAsBoolean();
        return new BertNormalizer(bool(n, "clean_text", true), bool(n, "handle_chinese_chars", true), stripAccents,
                lowercase);
    }

    private static void requirePreTokenizer(JsonObject root) {
        JsonElement pre = root.get("pre_tokenizer");
        if (pre == null || !pre.isJsonObject()) {
            throw invalid(FILE + ": 'pre_tokenizer' is missing; only BertPreTokenizer is supported");
        }
        requireType(pre.getAsJsonObject(), "pre_tokenizer", "BertPreTokenizer");
    }

    /** {@code model.vocab}, token to id, from the reader at its opening brace. */
    private static Map<String, Integer> vocab(JsonReader reader) throws IOException {
        Map<String, Integer> out = new HashMap<>(VOCAB_CAPACITY);
        reader.beginObject();
        while (reader.hasNext()) {
            String token = reader.nextName();
            out.put(token, reader.nextInt());
        }
        reader.endObject();
        return Collections.unmodifiableMap(out);
    }

    /** Added tokens, longest first, so the leftmost-longest match is the first one found. */
    private static List<AddedToken> addedTokens(JsonObject root) {
        JsonElement added = root.get("added_tokens");
        List<AddedToken> out = new ArrayList<>();
        if (added == null || added.isJsonNull()) {
            return out;
        }
        for (JsonElement e : added.getAsJsonArray()) {
            JsonObject token = e.getAsJsonObject();
            String content = string(token, "content", "added_tokens[].content");
            for (String flag : List.of("normalized", "single_word", "lstrip", "rstrip")) {
                if (bool(token, flag, false)) {
                    throw invalid(FILE + ": added token '" + content + "' sets " + flag
                            + "=true, which this tokenizer does not support");
                }
            }
            out.add(new AddedToken(content, token.get("id").getAsInt()));
        }
        out.sort(LONGEST_FIRST);
        return List.copyOf(out);
    }

    /** The ids before and after the text: {@code [CLS]} and {@code [SEP]} for BERT. */
    private static int[][] postProcessor(JsonElement element) {
        if (element == null || element.isJsonNull()) {
            return new int[][] {new int[0], new int[0]};
        }
        JsonObject p = element.getAsJsonObject();
        String type = optionalString(p, "type", "");
        return switch (type) {
            case "TemplateProcessing" -> template(p);
            case "BertProcessing" -> new int[][] {
                {p.getAsJsonArray("cls").get(1).getAsInt()}, {p.getAsJsonArray("sep").get(1).getAsInt()}};
            default -> throw invalid(FILE + ": post_processor type '" + type
                    + "' is not supported (TemplateProcessing or BertProcessing)");
        };
    }

    private static int[][] template(JsonObject p) {
        JsonObject specials = object(p, "special_tokens");
        List<Integer> before = new ArrayList<>();
        List<Integer> after = new ArrayList<>();
        boolean seenSequence = false;
        for (JsonElement item : p.getAsJsonArray("single")) {
            JsonObject piece = item.getAsJsonObject();
            if (piece.has("Sequence")) {
                if (seenSequence) {
                    throw invalid(FILE + ": post_processor.single has more than one Sequence");
                }
                seenSequence = true;
            } else {
                String id = piece.getAsJsonObject("SpecialToken").get("id").getAsString();
                JsonArray ids = object(specials, id).getAsJsonArray("ids");
                List<Integer> side = seenSequence ? after : before;
                for (JsonElement v : ids) {
                    side.add(v.getAsInt());
                }
            }
        }
        if (!seenSequence) {
            throw invalid(FILE + ": post_processor.single has no Sequence");
        }
        return new int[][] {toArray(before), toArray(after)};
    }

    private static Integer padId(JsonObject root) {
        JsonElement padding = root.get("padding");
        if (padding != null && padding.isJsonObject() && padding.getAsJsonObject().has("pad_id")) {
            return padding.getAsJsonObject().get("pad_id").getAsInt();
        }
        return null;
    }

    private static void requireType(JsonObject o, String key, String expected) {
        String type = optionalString(o, "type", null);
        if (!expected.equals(type)) {
            throw invalid(FILE + ": " + key + " type '" + type + "' is not supported; only " + expected);
        }
    }

    private static JsonObject object(JsonObject parent, String key) {
        JsonElement e = parent.get(key);
        if (e == null || !e.isJsonObject()) {
            throw invalid(FILE + ": '" + key + "' is missing or not an object");
        }
        return e.getAsJsonObject();
    }

    private static String string(JsonObject parent, String key, String path) {
        String value = optionalString(parent, key, null);
        if (value == null) {
            throw invalid(FILE + ": '" + path + "' is missing or not a string");
        }
        return value;
    }

    private static String optionalString(JsonObject parent, String key, String fallback) {
        JsonElement e = parent.get(key);
        return e == null || e.isJsonNull() ? fallback : e.getAsString();
    }

    private static int optionalInt(JsonObject parent, String key, int fallback) {
        JsonElement e = parent.get(key);
        return e == null || e.isJsonNull() ? fallback : e.getAsInt();
    }

    private static boolean bool(JsonObject parent, String key, boolean fallback) {
        JsonElement e = parent.get(key);
        return e == null || e.isJsonNull() ? fallback : e.getAsBoolean();
    }

    private static int[] toArray(List<Integer> values) {
        int[] out = new int[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }

    private static IllegalArgumentException invalid(String message) {
        return new IllegalArgumentException(message);
    }
}
