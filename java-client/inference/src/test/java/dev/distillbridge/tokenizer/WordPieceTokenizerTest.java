package dev.distillbridge.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.distillbridge.inference.PythonReference;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java WordPiece tokenizer against Python's Hugging Face tokenizers on all-MiniLM-L6-v2's
 * tokenizer.json (max length 64): 2,500 real airline tweets, every Unicode code point, and
 * targeted edge cases; and on that tokenizer pruned by the bridge to the first 1,500 tweets'
 * tokens (what a Transformer student with {@code prune_vocabulary} ships), over all 2,500 tweets
 * and the edge cases, so words it never saw are included. The reference ids come from
 * text/tokenizer_reference.py.
 */
@DisabledIfSystemProperty(named = "distillbridge.pythonReference", matches = "skip")
class WordPieceTokenizerTest {
    private static final int MAX_LENGTH = 64;
    private static final int TWEETS = 2500;
    private static final int PRUNED_TRAIN = 1500;
    private static final int CLS = 101;
    private static final int SEP = 102;
    private static final int UNK = 100;

    /** Edge cases by topic; Python tokenizes each of them too. */
    private static final Map<String, List<String>> CASES = new LinkedHashMap<>();

    static {
        CASES.put("accents", List.of("naïve café résumé", "Héllo WORLD", "ÀÉÎÕÜ àéîõü ñ ç ß ø å", "Ǆemal İstanbul ΣΑΣ",
                "e\u0301 a\u0308 n\u0303 (combining marks)", "Ångström Œuvre ﬁnal ½ ①"));
        CASES.put("cjk", List.of("I love 東京!", "日本語のテキスト", "中文字abc中", "한국어 안녕하세요", "𠀀𪜀 rare ideographs",
                "全角！？（）"));
        CASES.put("emoji", List.of("@united 😡😡 thanks", "great flight ✈️👍🏽", "👨‍👩‍👧 family", "❤️", "flag 🇺🇸 ok",
                "🥰🤩🫠 new emoji"));
        CASES.put("urls", List.of("see http://t.co/AbC123 now", "https://www.united.com/en-us/flight?id=42&x=%20",
                "mail me: a.b+c@example.co.uk", "#DelayedAgain @JetBlue www.jetblue.com/help"));
        CASES.put("punctuation runs", List.of("!!!???...", "wait---what?!", "$100 + 5% = <<fun>> ^_^ ~|`",
                "“quoted” ‘single’ «guillemets» — – …", "(((nested))) [[brackets]] {{braces}}"));
        CASES.put("long words", List.of("a".repeat(100), "a".repeat(101), "x".repeat(99) + "é", "é".repeat(101),
                "supercalifragilisticexpialidocious antidisestablishmentarianism", "xyzzyqwv unaffable"));
        CASES.put("empty and whitespace", List.of("", " ", "   \t\n ", "\u00a0\u2003\u3000", "\r\n\r\n"));
        CASES.put("control characters", List.of("x\u0000\u0007y\u200bz\ufffd", "tab\there\u0085nel",
                "soft\u00adhyphen zero\u200dwidth", "bidi \u202ehidden\u202c", "private \ue000\uf8ff use"));
        CASES.put("special tokens", List.of("the [MASK] flew", "the [mask] flew", "[CLS] [SEP] [PAD] [UNK]",
                "[[MASK]] x[SEP]y"));
        CASES.put("truncation", List.of(String.join(" ", java.util.Collections.nCopies(80, "word")),
                "delay ".repeat(62).trim(), "delay ".repeat(63).trim()));
    }

    private static WordPieceTokenizer tokenizer;
    private static Path tokenizerFile;
    private static List<String> texts;
    private static List<int[]> pythonIds;
    private static Path prunedFile;
    private static WordPieceTokenizer pruned;
    private static List<int[]> pythonPrunedIds;

    @TempDir
    Path tmp;

    @BeforeAll
    static void pythonReference() throws IOException {
        Path extra = PythonReference.output("tokenizer-extra.json");
        Files.writeString(extra, new Gson().toJson(allCases()), StandardCharsets.UTF_8);
        Path out = PythonReference.output("tokenizer-reference.json");
        PythonReference.run("text/tokenizer_reference.py", "corpus", out.toString(), "--limit",
                Integer.toString(TWEETS), "--max-length", Integer.toString(MAX_LENGTH), "--extra", extra.toString(),
                "--pruned", PythonReference.output("tokenizer-pruned.json").toString(), "--train",
                Integer.toString(PRUNED_TRAIN));
        JsonObject reference = JsonParser.parseString(Files.readString(out, StandardCharsets.UTF_8)).getAsJsonObject();
        tokenizerFile = Path.of(reference.get("tokenizer").getAsString());
        tokenizer = WordPieceTokenizer.load(tokenizerFile, MAX_LENGTH);
        texts = new ArrayList<>();
        reference.getAsJsonArray("texts").forEach(t -> texts.add(t.getAsString()));
        pythonIds = idLists(reference.getAsJsonArray("ids"));
        prunedFile = Path.of(reference.get("pruned_tokenizer").getAsString());
        pruned = WordPieceTokenizer.load(prunedFile, MAX_LENGTH);
        pythonPrunedIds = idLists(reference.getAsJsonArray("pruned_ids"));
    }

    private static List<int[]> idLists(JsonArray rows) {
        List<int[]> out = new ArrayList<>();
        rows.forEach(ids -> out.add(new Gson().fromJson(ids, int[].class)));
        return out;
    }

    @Test
    void aPrunedTokenizerGetsPythonsIdsOnWordsItNeverSaw() {
        assertTrue(pruned.vocabSize() < tokenizer.vocabSize() / 4, "pruned to " + pruned.vocabSize() + " tokens");
        int unk = pruned.tokenId("[UNK]").orElseThrow();
        List<String> differing = new ArrayList<>();
        int newUnknown = 0;
        for (int i = 0; i < texts.size(); i++) {
            int[] ids = pruned.encode(texts.get(i));
            if (!Arrays.equals(pythonPrunedIds.get(i), ids)) {
                differing.add("\"" + texts.get(i) + "\": Java " + Arrays.toString(ids) + ", Python "
                        + Arrays.toString(pythonPrunedIds.get(i)));
            }
            if (count(ids, unk) > count(tokenizer.encode(texts.get(i)), UNK)) {
                newUnknown++;
            }
        }
        assertTrue(differing.isEmpty(), differing.size() + " of " + texts.size() + " texts differ, e.g. "
                + differing.subList(0, Math.min(5, differing.size())));
        assertTrue(newUnknown > 0, "some texts hold words the pruned vocabulary cannot piece together");
        assertArrayEquals(new int[] {pruned.tokenId("[CLS]").orElseThrow(), unk, unk,
                pruned.tokenId("[SEP]").orElseThrow()}, pruned.encode("한국어 안녕하세요"), "unseen words are [UNK]");
        assertEquals(0, pruned.padId(), "[PAD] keeps id 0: the tokens keep their order");
    }

    @Test
    void onItsTrainingTweetsAPrunedTokenizerGivesTheFullOnesTokensRenumbered() throws IOException {
        Map<Integer, Integer> renumbered = new java.util.HashMap<>();
        JsonObject fullVocab = vocab(tokenizerFile);
        vocab(prunedFile).entrySet().forEach(
                e -> renumbered.put(fullVocab.get(e.getKey()).getAsInt(), e.getValue().getAsInt()));
        for (int i = 0; i < PRUNED_TRAIN; i++) {
            int[] expected = Arrays.stream(tokenizer.encode(texts.get(i))).map(renumbered::get).toArray();
            assertArrayEquals(expected, pruned.encode(texts.get(i)), texts.get(i));
        }
    }

    private static JsonObject vocab(Path file) throws IOException {
        return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject()
                .getAsJsonObject("model").getAsJsonObject("vocab");
    }

    private static int count(int[] ids, int id) {
        return (int) Arrays.stream(ids).filter(v -> v == id).count();
    }

    @Test
    void airlineTweetsGetExactlyPythonsIds() {
        int tweets = texts.size() - allCases().size();
        assertEquals(TWEETS, tweets, "the corpus should give " + TWEETS + " airline tweets");
        List<String> differing = new ArrayList<>();
        for (int i = 0; i < tweets; i++) {
            if (!Arrays.equals(pythonIds.get(i), tokenizer.encode(texts.get(i)))) {
                differing.add(describe(i));
            }
        }
        assertTrue(differing.isEmpty(), differing.size() + " of " + tweets + " tweets differ, e.g. "
                + differing.subList(0, Math.min(5, differing.size())));
        System.out.println("WordPieceTokenizerTest: " + tweets + " airline tweets, ids identical to Python's");
    }

    /** "a" + c + "b" for every Unicode scalar value c: control, whitespace, punctuation, CJK, marks, case. */
    @Test
    void everyCodePointGetsPythonsIds() throws IOException {
        Path out = PythonReference.output("tokenizer-codepoints.txt");
        PythonReference.run("text/tokenizer_reference.py", "codepoints", out.toString());
        List<String> differing = new ArrayList<>();
        int compared = 0;
        try (BufferedReader reader = Files.newBufferedReader(out, StandardCharsets.US_ASCII)) {
            for (int cp = 0; cp < 0x110000; cp++) {
                if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) {
                    continue;
                }
                String expected = reader.readLine();
                String actual = innerIds(tokenizer.encode("a" + Character.toString(cp) + "b"));
                compared++;
                if (!actual.equals(expected) && differing.size() < 20) {
                    differing.add(String.format("U+%04X: Java [%s], Python [%s]", cp, actual, expected));
                }
            }
        }
        assertEquals(0x110000 - 0x800, compared);
        assertTrue(differing.isEmpty(), "code points that differ: " + differing);
    }

    @Test
    void accentsAreStrippedAndCaseFolded() {
        assertMatchesPython("accents");
        assertArrayEquals(tokenizer.encode("hello world"), tokenizer.encode("Héllo WORLD"));
        assertArrayEquals(new int[] {CLS, 15743, 7668, 13746, SEP}, tokenizer.encode("naïve café résumé"));
    }

    @Test
    void cjkIdeographsAreSingleTokens() {
        assertMatchesPython("cjk");
        assertArrayEquals(new int[] {CLS, 1045, 2293, 1879, 1755, 999, SEP}, tokenizer.encode("I love 東京!"));
    }

    @Test
    void emojiAreUnknownWords() {
        assertMatchesPython("emoji");
        assertArrayEquals(new int[] {CLS, 1030, 2142, UNK, 4283, SEP}, tokenizer.encode("@united 😡😡 thanks"));
    }

    @Test
    void urlsSplitOnPunctuation() {
        assertMatchesPython("urls");
    }

    @Test
    void punctuationRunsAreOneTokenPerCharacter() {
        assertMatchesPython("punctuation runs");
        assertArrayEquals(new int[] {CLS, 999, 999, 999, 1029, 1029, 1029, 1012, 1012, 1012, SEP},
                tokenizer.encode("!!!???..."));
    }

    @Test
    void wordsOverOneHundredCharactersAreUnknown() {
        assertMatchesPython("long words");
        assertArrayEquals(new int[] {CLS, UNK, SEP}, tokenizer.encode("a".repeat(101)));
        assertTrue(tokenizer.encode("a".repeat(100)).length > 3, "100 characters are still pieced");
        assertArrayEquals(new int[] {CLS, 1060, 2100, 28753, 4160, 2860, 2615, SEP}, tokenizer.encode("xyzzyqwv"));
    }

    @Test
    void emptyAndWhitespaceOnlyTextsAreJustTheSpecials() {
        assertMatchesPython("empty and whitespace");
        assertArrayEquals(new int[] {CLS, SEP}, tokenizer.encode(""));
        assertArrayEquals(new int[] {CLS, SEP}, tokenizer.encode("   \t\n "));
    }

    @Test
    void controlCharactersAreDropped() {
        assertMatchesPython("control characters");
        assertArrayEquals(new int[] {CLS, 1060, 2100, 2480, SEP}, tokenizer.encode("x\u0000\u0007y\u200bz\ufffd"));
    }

    @Test
    void specialTokensInTheRawTextAreMatchedCaseSensitively() {
        assertMatchesPython("special tokens");
        assertArrayEquals(new int[] {CLS, 1996, 103, 5520, SEP}, tokenizer.encode("the [MASK] flew"));
    }

    @Test
    void longTextsAreTruncatedToMaxLengthIncludingSpecials() {
        assertMatchesPython("truncation");
        int[] ids = tokenizer.encode(String.join(" ", java.util.Collections.nCopies(80, "word")));
        assertEquals(MAX_LENGTH, ids.length);
        assertEquals(CLS, ids[0]);
        assertEquals(SEP, ids[MAX_LENGTH - 1]);
        assertEquals(MAX_LENGTH, tokenizer.encode("delay ".repeat(62).trim()).length);
    }

    @Test
    void batchesArePaddedToTheLongestWithAMask() {
        TokenizedBatch batch = tokenizer.encodeBatch(List.of("hello world", "", "ok"));
        assertEquals(3, batch.rows());
        assertEquals(4, batch.length());
        assertArrayEquals(new long[] {3, 4}, batch.shape());
        assertArrayEquals(new long[] {CLS, 7592, 2088, SEP, CLS, SEP, 0, 0, CLS, 7929, SEP, 0}, batch.ids());
        assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0}, batch.attentionMask());
        assertArrayEquals(new long[] {CLS, SEP}, batch.ids(1));
        assertEquals(0, tokenizer.padId());

        TokenizedBatch single = tokenizer.encodeBatch(List.of("hello world"));
        assertArrayEquals(new long[] {1, 4}, single.shape(), "a single text is not padded");
        assertEquals(0, tokenizer.encodeBatch(List.of()).rows());
        assertThrows(NullPointerException.class, () -> tokenizer.encodeBatch(Arrays.asList("a", null)));
    }

    @Test
    void aCustomPadIdAndMaxLengthAreUsed() {
        WordPieceTokenizer custom = WordPieceTokenizer.load(tokenizerFile, 5, 7);
        TokenizedBatch batch = custom.encodeBatch(List.of("one two three four five", "ok"));
        assertArrayEquals(new long[] {CLS, 2028, 2048, 2093, SEP, CLS, 7929, SEP, 7, 7}, batch.ids());
        assertThrows(IllegalArgumentException.class, () -> WordPieceTokenizer.load(tokenizerFile, 1));
    }

    @Test
    void oneTokenizerServesManyThreads() throws Exception {
        List<String> tweets = texts.subList(0, 400);
        List<int[]> expected = tweets.stream().map(tokenizer::encode).toList();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<int[]>>> futures = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                futures.add(pool.submit(() -> tweets.stream().map(tokenizer::encode).toList()));
            }
            for (Future<List<int[]>> f : futures) {
                List<int[]> actual = f.get();
                for (int i = 0; i < expected.size(); i++) {
                    assertArrayEquals(expected.get(i), actual.get(i));
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void tokenizersOtherThanBertWordPieceAreRefusedByName() throws IOException {
        JsonObject json = JsonParser.parseString(Files.readString(tokenizerFile)).getAsJsonObject();
        json.getAsJsonObject("model").addProperty("type", "BPE");
        assertRefused(json, "model type 'BPE' is not supported; only WordPiece");

        json = JsonParser.parseString(Files.readString(tokenizerFile)).getAsJsonObject();
        json.getAsJsonObject("normalizer").addProperty("type", "NFKC");
        assertRefused(json, "normalizer type 'NFKC' is not supported");

        json = JsonParser.parseString(Files.readString(tokenizerFile)).getAsJsonObject();
        JsonArray added = json.getAsJsonArray("added_tokens");
        added.get(4).getAsJsonObject().addProperty("lstrip", true);
        assertRefused(json, "added token '[MASK]' sets lstrip=true");

        Files.writeString(tmp.resolve("broken.json"), "{\"model\": []}");
        assertThrows(IllegalArgumentException.class, () -> WordPieceTokenizer.load(tmp.resolve("broken.json"), 64));
    }

    @Test
    void theStreamedVocabularyIsTheFilesEntryForEntry() throws IOException {
        JsonObject vocab = JsonParser.parseString(Files.readString(tokenizerFile)).getAsJsonObject()
                .getAsJsonObject("model").getAsJsonObject("vocab");
        WordPieceTokenizer loaded = WordPieceTokenizer.load(tokenizerFile, MAX_LENGTH);
        assertEquals(vocab.size(), loaded.vocabSize());
        for (Map.Entry<String, com.google.gson.JsonElement> e : vocab.entrySet()) {
            assertEquals(e.getValue().getAsInt(), loaded.tokenId(e.getKey()).orElseThrow(), e.getKey());
        }
    }

    @Test
    void escapedTokensQuotedIdsAndCommentsReadAsGsonReadsThem() throws IOException {
        String good = Files.readString(tokenizerFile);
        JsonObject json = JsonParser.parseString(good).getAsJsonObject();
        JsonObject vocab = json.getAsJsonObject("model").getAsJsonObject("vocab");
        int next = vocab.size() + 10;
        for (String token : List.of("caf\u00e9", "quote\"d", "back\\slash", "tab\there", "\ud83d\ude00", "ctl\u0001x", "sl/ash")) {
            vocab.addProperty(token, next++);
        }
        Path file = tmp.resolve("tokenizer.json");
        // escapes in the streamed vocab, then the same with a quoted id (gson's nextInt reads it)
        String quoted = json.toString().replace(":" + (next - 1) + "}", ":\"" + (next - 1) + "\"}");
        assertTrue(quoted.contains(":\"" + (next - 1) + "\"}"));
        for (String text : List.of(json.toString(), quoted)) {
            Files.writeString(file, text);
            WordPieceTokenizer loaded = WordPieceTokenizer.load(file, MAX_LENGTH);
            JsonObject expected = JsonParser.parseString(text).getAsJsonObject().getAsJsonObject("model")
                    .getAsJsonObject("vocab");
            assertEquals(expected.size(), loaded.vocabSize());
            for (Map.Entry<String, com.google.gson.JsonElement> e : expected.entrySet()) {
                assertEquals(e.getValue().getAsInt(), loaded.tokenId(e.getKey()).orElseThrow(), e.getKey());
            }
        }
        Files.writeString(file, good.replaceFirst("\\{", "{\n// a comment gson's lenient reader skips\n"));
        assertEquals(WordPieceTokenizer.load(tokenizerFile, MAX_LENGTH).vocabSize(),
                WordPieceTokenizer.load(file, MAX_LENGTH).vocabSize());
    }

    @Test
    void malformedFilesAreRefusedAsBeforeTheVocabularyWasStreamed() throws IOException {
        String good = Files.readString(tokenizerFile);
        JsonObject json = JsonParser.parseString(good).getAsJsonObject();
        json.getAsJsonObject("model").remove("vocab");
        assertRefused(json, "'vocab' is missing or not an object");

        json = JsonParser.parseString(good).getAsJsonObject();
        json.getAsJsonObject("model").add("vocab", new JsonArray());
        assertRefused(json, "'vocab' is missing or not an object");

        json = JsonParser.parseString(good).getAsJsonObject();
        json.getAsJsonObject("model").getAsJsonObject("vocab").addProperty("broken", "not an id");
        assertRefused(json, "tokenizer.json is malformed");

        Path file = tmp.resolve("tokenizer.json");
        for (String broken : List.of(good + " {}", "[]", good.substring(0, good.length() / 2))) {
            Files.writeString(file, broken);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> WordPieceTokenizer.load(file, MAX_LENGTH));
            assertTrue(e.getMessage().startsWith("tokenizer.json is not"), e.getMessage());
        }
    }

    private void assertRefused(JsonObject json, String expectedMessage) throws IOException {
        Path file = tmp.resolve("tokenizer.json");
        Files.writeString(file, json.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WordPieceTokenizer.load(file, MAX_LENGTH));
        assertTrue(e.getMessage().contains(expectedMessage), e.getMessage());
    }

    private static void assertMatchesPython(String topic) {
        int offset = texts.size() - allCases().size();
        for (String text : CASES.get(topic)) {
            int index = offset + allCases().indexOf(text);
            assertArrayEquals(pythonIds.get(index), tokenizer.encode(text), () -> topic + ": " + describe(index));
        }
    }

    private static List<String> allCases() {
        return CASES.values().stream().flatMap(List::stream).collect(Collectors.toList());
    }

    private static String describe(int index) {
        return "\"" + texts.get(index) + "\": Java " + Arrays.toString(tokenizer.encode(texts.get(index)))
                + ", Python " + Arrays.toString(pythonIds.get(index));
    }

    private static String innerIds(int[] ids) {
        return Arrays.stream(ids, 1, ids.length - 1).mapToObj(Integer::toString).collect(Collectors.joining(" "));
    }
}
