package dev.distillbridge.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A text artifact through the loader and {@code predict(String)}: the tiny embedding-bag model
 * of fixtures/make_tiny_text_artifact.py (MiniLM's tokenizer, int64 ids and mask, fp32 + INT8,
 * golden vectors from Python), generated once per test JVM.
 */
@DisabledIfSystemProperty(named = "distillbridge.pythonReference", matches = "skip")
class TextModelTest {
    private static final String FP32 = "model.onnx";
    private static final String INT8 = "model.int8.onnx";
    private static final List<String> TEXTS = List.of("@united thanks for the great flight!",
            "@AmericanAir 3 hours on the tarmac and no updates. Unacceptable.", "ok", "",
            "Café crème 東京 ✈️ #travel http://t.co/xyz");

    private static Path artifact;

    @TempDir
    Path tmp;

    @BeforeAll
    static void generate() {
        artifact = PythonReference.tinyTextArtifact();
    }

    @Test
    void loadsAndReplaysTheGoldenTextsOnBothModels() {
        try (DistilledModel model = DistilledModel.load(artifact)) {
            assertEquals(Precision.INT8, model.precision());
            assertTrue(model.maxGoldenDiff() <= 1e-5, "max golden diff " + model.maxGoldenDiff());
            ArtifactManifest manifest = model.manifest();
            assertTrue(manifest.isText());
            assertEquals(List.of("input_ids", "attention_mask"),
                    manifest.inputs().stream().map(TensorSpec::name).toList());
            TokenizerSpec spec = manifest.tokenizer().orElseThrow();
            assertEquals(64, spec.maxLength());
            assertEquals(0, spec.padId());
            assertEquals("tokenizer.json", spec.file());
            assertTrue(manifest.files().containsKey("tokenizer.json"));
            GoldenVector golden = manifest.goldenVector(INT8).orElseThrow();
            assertTrue(golden.isText());
            assertEquals(4, golden.texts().size());
            assertThrows(IllegalStateException.class, () -> golden.inputRow(0));
            assertEquals(64, model.tokenizer().orElseThrow().maxLength());
            assertEquals(List.of("negative", "neutral", "positive"), model.labels());
        }
        try (DistilledModel model = DistilledModel.load(artifact, Precision.FP32)) {
            assertTrue(model.maxGoldenDiff() <= 1e-5, "max golden diff " + model.maxGoldenDiff());
        }
    }

    @Test
    void predictOfOneTextEqualsItsRowInABatch() {
        try (DistilledModel model = DistilledModel.load(artifact, Precision.FP32)) {
            List<Prediction> batch = model.predict(TEXTS);
            assertEquals(TEXTS.size(), batch.size());
            for (int i = 0; i < TEXTS.size(); i++) {
                Prediction alone = model.predict(TEXTS.get(i));
                assertEquals(alone.label(), batch.get(i).label(), TEXTS.get(i));
                assertArrayEquals(alone.logits(), batch.get(i).logits(), 1e-6f, TEXTS.get(i));
                assertArrayEquals(alone.probabilities(), batch.get(i).probabilities(), 1e-6f, TEXTS.get(i));
                assertTrue(model.labels().contains(alone.label()));
                assertEquals(1.0, sum(alone.probabilities()), 1e-5);
            }
            assertEquals(List.of(), model.predict(List.of()));
        }
    }

    @Test
    void batchPredictionsReproduceTheGoldenOutputs() {
        try (DistilledModel model = DistilledModel.load(artifact, Precision.FP32)) {
            GoldenVector golden = model.manifest().goldenVector(FP32).orElseThrow();
            List<Prediction> predictions = model.predict(golden.texts());
            float[] expected = golden.output();
            for (int i = 0; i < predictions.size(); i++) {
                for (int c = 0; c < 3; c++) {
                    assertEquals(expected[i * 3 + c], predictions.get(i).logits()[c], 1e-5);
                }
            }
        }
    }

    @Test
    void textPredictionsAreThreadSafe() throws Exception {
        try (DistilledModel model = DistilledModel.load(artifact)) {
            List<Prediction> expected = TEXTS.stream().map(model::predict).toList();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<List<Prediction>>> futures = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    futures.add(pool.submit(() -> TEXTS.stream().map(model::predict).toList()));
                }
                for (Future<List<Prediction>> f : futures) {
                    assertEquals(expected, f.get());
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void floatInputOnATextModelIsRefusedClearly() {
        try (DistilledModel model = DistilledModel.load(artifact)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.predict(new float[] {1, 2, 3}));
            assertTrue(e.getMessage().contains("this is a text model"), e.getMessage());
            assertTrue(e.getMessage().contains("expects text, via predict(String)"), e.getMessage());
            assertTrue(e.getMessage().contains("was given a sample of 3 float features"), e.getMessage());
            IllegalArgumentException batch = assertThrows(IllegalArgumentException.class,
                    () -> model.predict(new float[][] {{1}, {2}}));
            assertTrue(batch.getMessage().contains("was given a batch of 2 float samples"), batch.getMessage());
        }
    }

    @Test
    void textInputOnATabularModelIsRefusedClearly() {
        try (DistilledModel model = DistilledModel.load(DistilledModelTest.FIXTURE)) {
            assertFalse(model.manifest().isText());
            assertTrue(model.tokenizer().isEmpty());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.predict("hello"));
            assertTrue(e.getMessage().contains("\"tabular\""), e.getMessage());
            assertTrue(e.getMessage().contains("expects 4 float features per sample (input shape [-1, 4])"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("was given 1 text"), e.getMessage());
            IllegalArgumentException batch = assertThrows(IllegalArgumentException.class,
                    () -> model.predict(List.of("a", "b")));
            assertTrue(batch.getMessage().contains("was given 2 texts"), batch.getMessage());
        }
    }

    @Test
    void tamperedGoldenIdsAreRejectedNamingTextAndPosition() throws IOException {
        Path dir = copyArtifact();
        editManifest(dir, m -> {
            JsonObject golden = m.getAsJsonObject("golden_vectors").getAsJsonObject(INT8);
            int width = golden.getAsJsonArray("input_shape").get(1).getAsInt();
            JsonArray ids = golden.getAsJsonArray("input_ids");
            ids.set(width + 3, new JsonPrimitive(ids.get(width + 3).getAsLong() + 1));
        });
        ModelException e = assertThrows(ModelException.class,
                () -> DistilledModel.load(dir));
        assertEquals(ModelException.Code.GOLDEN_MISMATCH, e.code());
        assertEquals(INT8, e.fileName().orElseThrow());
        assertTrue(e.getMessage().contains("golden vector mismatch in model.int8.onnx: token ids differ for text 1"),
                e.getMessage());
        assertTrue(e.getMessage().contains("at token 3"), e.getMessage());
    }

    @Test
    void aGoldenPaddingMismatchIsRejected() throws IOException {
        Path dir = copyArtifact();
        editManifest(dir, m -> m.getAsJsonObject("tokenizer").addProperty("pad_id", 5));
        ModelException e = assertThrows(ModelException.class,
                () -> DistilledModel.load(dir));
        assertTrue(e.getMessage().contains("the padding differs"), e.getMessage());
    }

    @Test
    void tamperedGoldenOutputsAreRejected() throws IOException {
        Path dir = copyArtifact();
        editManifest(dir, m -> {
            JsonArray output = m.getAsJsonObject("golden_vectors").getAsJsonObject(FP32).getAsJsonArray("output");
            output.set(2, new JsonPrimitive(output.get(2).getAsDouble() + 0.25));
        });
        ModelException e = assertThrows(ModelException.class,
                () -> DistilledModel.load(dir, Precision.FP32));
        assertTrue(e.getMessage().contains("golden vector mismatch in model.onnx: max abs diff 0.25"), e.getMessage());
    }

    @Test
    void theTokenizerFileIsShaCheckedAndMustBeListed() throws IOException {
        Path dir = copyArtifact();
        Path tokenizer = dir.resolve("tokenizer.json");
        byte[] original = Files.readAllBytes(tokenizer);
        byte[] tampered = original.clone();
        tampered[tampered.length / 2] ^= 0x01;
        Files.write(tokenizer, tampered);
        ModelException e = assertThrows(ModelException.class,
                () -> DistilledModel.load(dir));
        assertEquals("tokenizer.json", e.fileName().orElseThrow());
        assertTrue(e.getMessage().contains("sha256 mismatch for tokenizer.json"), e.getMessage());

        Files.write(tokenizer, original);
        editManifest(dir, m -> m.getAsJsonObject("files").remove("tokenizer.json"));
        e = assertThrows(ModelException.class, () -> DistilledModel.load(dir));
        assertTrue(e.getMessage().contains("tokenizer.json is not listed under files"), e.getMessage());
    }

    @Test
    void aManifestThatContradictsTheTokenizerIsRejected() throws IOException {
        Path dir = copyArtifact();
        editManifest(dir, m -> m.getAsJsonObject("tokenizer").addProperty("lowercase", false));
        ModelException e = assertThrows(ModelException.class,
                () -> DistilledModel.load(dir));
        assertTrue(e.getMessage().contains("manifest.json says lowercase false"), e.getMessage());

        editManifest(dir, m -> {
            m.getAsJsonObject("tokenizer").addProperty("lowercase", true);
            m.getAsJsonObject("tokenizer").addProperty("type", "bpe");
        });
        e = assertThrows(ModelException.class, () -> DistilledModel.load(dir));
        assertTrue(e.getMessage().contains("tokenizer.type 'bpe' is not supported"), e.getMessage());

        editManifest(dir, m -> m.remove("tokenizer"));
        e = assertThrows(ModelException.class, () -> DistilledModel.load(dir));
        assertTrue(e.getMessage().contains("'tokenizer' is missing or not an object (the modality is text)"),
                e.getMessage());
    }

    @Test
    void textInputsMustBeInt64IdsAndMask() throws IOException {
        Path dir = copyArtifact();
        editManifest(dir, m -> m.getAsJsonArray("inputs").get(1).getAsJsonObject().addProperty("dtype", "float32"));
        ModelException e = assertThrows(ModelException.class,
                () -> DistilledModel.load(dir));
        assertTrue(e.getMessage().contains("a text model must take int64 inputs 'input_ids' and 'attention_mask'"),
                e.getMessage());
    }

    private static double sum(float[] values) {
        double total = 0;
        for (float v : values) {
            total += v;
        }
        return total;
    }

    private Path copyArtifact() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("artifact"));
        try (Stream<Path> files = Files.list(artifact)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName().toString()));
            }
        }
        return dir;
    }

    private static void editManifest(Path dir, Consumer<JsonObject> edit) throws IOException {
        Path file = dir.resolve("manifest.json");
        JsonObject manifest = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        edit.accept(manifest);
        Files.writeString(file, new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(manifest));
    }
}
