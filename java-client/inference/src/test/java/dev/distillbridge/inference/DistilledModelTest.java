package dev.distillbridge.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the committed tiny artifact (a 4 -> 8 -> 3 MLP made by fixtures/make_tiny_artifact.py,
 * golden outputs from Python's ONNX Runtime) through the loader.
 */
class DistilledModelTest {
    static final Path FIXTURE = fixture("fixtures/tiny-artifact");
    private static final String INT8 = "model.int8.onnx";

    @TempDir
    Path tmp;

    @Test
    void loadsTheInt8ModelAndAgreesWithPythonsOnnxRuntime() {
        try (DistilledModel model = DistilledModel.load(FIXTURE)) {
            assertEquals(Precision.INT8, model.precision());
            assertEquals(FIXTURE.resolve(INT8), model.modelPath());
            assertTrue(model.maxGoldenDiff() <= 1e-5, "max golden diff " + model.maxGoldenDiff());
            assertEquals(List.of("setosa", "versicolor", "virginica"), model.labels());
            assertArrayEquals(new long[] {-1, 4}, model.inputShape());
            assertEquals("fixture-tiny", model.manifest().jobId());
        }
    }

    @Test
    void loadsTheFp32ModelOnRequest() {
        try (DistilledModel model = DistilledModel.load(FIXTURE, Precision.FP32)) {
            assertEquals(Precision.FP32, model.precision());
            assertEquals(FIXTURE.resolve("model.onnx"), model.modelPath());
            assertTrue(model.maxGoldenDiff() <= 1e-5, "max golden diff " + model.maxGoldenDiff());
        }
    }

    @Test
    void batchPredictionsReproduceTheGoldenOutputs() {
        try (DistilledModel model = DistilledModel.load(FIXTURE, Precision.FP32)) {
            GoldenVector golden = model.manifest().goldenVector("model.onnx").orElseThrow();
            float[][] rows = new float[golden.rows()][];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = golden.inputRow(i);
            }
            List<Prediction> predictions = model.predict(rows);
            float[] expected = golden.output();
            assertEquals(4, predictions.size());
            for (int i = 0; i < predictions.size(); i++) {
                Prediction p = predictions.get(i);
                assertEquals(3, p.logits().length);
                for (int c = 0; c < 3; c++) {
                    assertEquals(expected[i * 3 + c], p.logits()[c], 1e-5);
                }
                assertProbabilities(p);
                assertEquals(model.labels().get(p.labelIndex()), p.label());
                assertEquals(p, model.predict(rows[i]), "fp32 rows do not depend on the rest of the batch");
            }
        }
    }

    @Test
    void int8PredictionsHaveValidLabelsAndProbabilities() {
        try (DistilledModel model = DistilledModel.load(FIXTURE)) {
            GoldenVector golden = model.manifest().goldenVector(INT8).orElseThrow();
            for (int i = 0; i < golden.rows(); i++) {
                Prediction p = model.predict(golden.inputRow(i));
                assertTrue(model.labels().contains(p.label()));
                assertProbabilities(p);
            }
        }
    }

    @Test
    void predictionsAreThreadSafe() throws Exception {
        try (DistilledModel model = DistilledModel.load(FIXTURE, Precision.FP32)) {
            float[] sample = {0.1f, -0.2f, 0.3f, 0.4f};
            Prediction expected = model.predict(sample);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Prediction>> futures = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    futures.add(pool.submit(() -> model.predict(sample)));
                }
                for (Future<Prediction> f : futures) {
                    assertEquals(expected, f.get());
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aWrongSampleLengthNamesExpectedAndActual() {
        try (DistilledModel model = DistilledModel.load(FIXTURE)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.predict(new float[] {1, 2, 3}));
            assertTrue(e.getMessage().contains("has 3 values, expected 4"), e.getMessage());
        }
    }

    @Test
    void aClosedModelRefusesToPredict() {
        DistilledModel model = DistilledModel.load(FIXTURE);
        model.close();
        model.close();
        assertThrows(IllegalStateException.class, () -> model.predict(new float[4]));
    }

    @Test
    void aTamperedModelFileIsRejected() throws IOException {
        Path dir = copyFixture();
        byte[] bytes = Files.readAllBytes(dir.resolve(INT8));
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(dir.resolve(INT8), bytes);

        ModelException e = assertThrows(ModelException.class,
                () -> DistilledModel.load(dir));
        assertEquals(ModelException.Code.HASH_MISMATCH, e.code());
        assertEquals(INT8, e.fileName().orElseThrow());
        assertTrue(e.getMessage().contains("sha256 mismatch for model.int8.onnx"), e.getMessage());
    }

    @Test
    void aModelFileOnnxRuntimeCannotParseIsReportedAsTamperedNotAsAParseError() throws IOException {
        Path dir = copyFixture(); // the session is created while another thread hashes the bytes
        byte[] bytes = Files.readAllBytes(dir.resolve(INT8));
        Arrays.fill(bytes, 0, 64, (byte) 0xff);
        Files.write(dir.resolve(INT8), bytes);

        ModelException e = assertThrows(ModelException.class, () -> DistilledModel.load(dir));
        assertEquals(ModelException.Code.HASH_MISMATCH, e.code(), e.getMessage());
    }

    @Test
    void aTruncatedOrMissingFileIsRejected() throws IOException {
        Path dir = copyFixture();
        Files.write(dir.resolve("model.onnx"), new byte[10]);
        ModelException e = assertThrows(ModelException.class,
                () -> DistilledModel.load(dir));
        assertTrue(e.getMessage().contains("size mismatch for model.onnx: expected"), e.getMessage());

        Files.delete(dir.resolve("model.onnx"));
        e = assertThrows(ModelException.class, () -> DistilledModel.load(dir));
        assertTrue(e.getMessage().contains("missing artifact file model.onnx"), e.getMessage());
    }

    @Test
    void aTamperedGoldenVectorIsRejectedWithTheNumbers() throws IOException {
        Path dir = copyFixture();
        editManifest(dir, m -> {
            JsonArray output = m.getAsJsonObject("golden_vectors").getAsJsonObject(INT8).getAsJsonArray("output");
            output.set(1, new com.google.gson.JsonPrimitive(output.get(1).getAsDouble() + 0.31));
        });

        ModelException e = assertThrows(ModelException.class,
                () -> DistilledModel.load(dir));
        assertEquals(ModelException.Code.GOLDEN_MISMATCH, e.code());
        assertTrue(e.getMessage().contains("golden vector mismatch in model.int8.onnx: max abs diff 0.31"),
                e.getMessage());
        assertTrue(e.getMessage().contains("> atol 1.00000e-05"), e.getMessage());
    }

    @Test
    void aModelWithoutGoldenVectorsIsRejected() throws IOException {
        Path dir = copyFixture();
        editManifest(dir, m -> m.getAsJsonObject("golden_vectors").remove(INT8));
        ModelException e = assertThrows(ModelException.class,
                () -> DistilledModel.load(dir));
        assertTrue(e.getMessage().contains("no golden vectors for model.int8.onnx"), e.getMessage());
    }

    @Test
    void anArtifactWithoutInt8OpensFp32AndRefusesInt8() throws IOException {
        Path dir = copyFixture();
        editManifest(dir, m -> {
            m.getAsJsonObject("models").add("int8", com.google.gson.JsonNull.INSTANCE);
            m.getAsJsonObject("files").remove(INT8);
            m.getAsJsonObject("golden_vectors").remove(INT8);
        });
        Files.delete(dir.resolve(INT8));
        try (DistilledModel model = DistilledModel.load(dir)) {
            assertEquals(Precision.FP32, model.precision());
        }
        assertThrows(IllegalArgumentException.class, () -> DistilledModel.load(dir, Precision.INT8));
    }

    @Test
    void anUnknownFormatVersionOrBrokenManifestIsRejected() throws IOException {
        Path dir = copyFixture();
        editManifest(dir, m -> m.addProperty("format_version", 2));
        ModelException e = assertThrows(ModelException.class,
                () -> DistilledModel.load(dir));
        assertTrue(e.getMessage().contains("format_version 2 is not supported"), e.getMessage());

        editManifest(dir, m -> {
            m.addProperty("format_version", 1);
            m.getAsJsonObject("input").remove("name");
        });
        e = assertThrows(ModelException.class, () -> DistilledModel.load(dir));
        assertTrue(e.getMessage().contains("'input.name' is missing"), e.getMessage());

        Files.writeString(dir.resolve("manifest.json"), "{not json");
        assertThrows(ModelException.class, () -> DistilledModel.load(dir));

        Files.delete(dir.resolve("manifest.json"));
        e = assertThrows(ModelException.class, () -> DistilledModel.load(dir));
        assertTrue(e.getMessage().contains("no manifest.json"), e.getMessage());
    }

    @Test
    void selfCheckReportsHashesGoldenVectorsAndVersions() {
        try (DistilledModel model = DistilledModel.load(FIXTURE)) {
            SelfCheckReport report = model.selfCheck();
            assertTrue(report.healthy(), report.problem());
            assertEquals("", report.problem());
            assertEquals("fixture-tiny", report.jobId());
            assertEquals(INT8, report.modelFile());
            assertEquals(Precision.INT8, report.precision());
            assertEquals(model.manifest().files().get(INT8).sha256(), report.sha256().get(INT8));
            assertEquals(java.util.Set.of("model.onnx", INT8), report.sha256().keySet());
            assertEquals(4, report.goldenRows());
            assertTrue(report.maxGoldenDiff() <= report.atol(), "diff " + report.maxGoldenDiff());
            assertEquals(1e-5, report.atol(), 1e-12);
            assertEquals("1.29.0", report.onnxRuntimeVersion());
            assertEquals(System.getProperty("java.version"), report.javaVersion());
            assertEquals(Boolean.TRUE, report.details().get("healthy"));
            assertEquals("INT8", report.details().get("precision"));
        }
    }

    @Test
    void selfCheckNoticesAFileTamperedAfterLoadWithoutThrowing() throws IOException {
        Path dir = copyFixture();
        try (DistilledModel model = DistilledModel.load(dir)) {
            assertTrue(model.selfCheck().healthy());
            byte[] bytes = Files.readAllBytes(dir.resolve("model.onnx"));
            bytes[bytes.length / 2] ^= 0x01;
            Files.write(dir.resolve("model.onnx"), bytes);

            SelfCheckReport report = model.selfCheck();
            assertEquals(false, report.healthy());
            assertTrue(report.problem().contains("sha256 mismatch for model.onnx"), report.problem());
            assertEquals(report.problem(), report.details().get("problem"));
            assertTrue(Double.isNaN(report.maxGoldenDiff()), "golden vectors are not replayed after a hash failure");
            // predictions still run on the session loaded before the file changed
            assertEquals(3, model.predict(new float[4]).logits().length);
        }
    }

    @Test
    void selfCheckOfAClosedModelIsUnhealthy() {
        DistilledModel model = DistilledModel.load(FIXTURE, Precision.FP32);
        model.close();
        SelfCheckReport report = model.selfCheck();
        assertEquals(false, report.healthy());
        assertEquals("model is closed", report.problem());
    }

    private static void assertProbabilities(Prediction p) {
        double sum = 0;
        for (float v : p.probabilities()) {
            assertTrue(v >= 0 && v <= 1);
            sum += v;
        }
        assertEquals(1.0, sum, 1e-5);
        assertEquals(p.probabilities()[p.labelIndex()], p.confidence());
    }

    private Path copyFixture() throws IOException {
        Path dir = tmp.resolve("artifact");
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(FIXTURE)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName().toString()));
            }
        }
        return dir;
    }

    static void editManifest(Path dir, Consumer<JsonObject> edit) throws IOException {
        Path file = dir.resolve("manifest.json");
        JsonObject manifest = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        edit.accept(manifest);
        Files.writeString(file, new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(manifest));
    }

    static Path fixture(String resource) {
        try {
            return Paths.get(DistilledModelTest.class.getClassLoader().getResource(resource).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new UncheckedIOException(new IOException("test resource " + resource + " is missing", e));
        }
    }
}
