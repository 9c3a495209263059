package dev.distillbridge.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link DistilledModel#builder}: precision and session options; {@link Predictions}; caller mistakes. */
class DistilledModelBuilderTest {
    private static final float[][] ROWS = {{0.1f, -0.2f, 0.3f, 0.4f}, {5.1f, 3.5f, 1.4f, 0.2f}, {6.7f, 3.0f, 5.2f, 2.3f}};

    @Test
    void theBuilderOpensTheChosenPrecisionWithTheChosenOptions() {
        try (DistilledModel model = DistilledModel.builder(DistilledModelTest.FIXTURE).precision(Precision.FP32)
                .intraOpThreads(1).optimizationLevel(OptimizationLevel.NONE).build()) {
            assertEquals(Precision.FP32, model.precision());
            assertEquals(DistilledModelTest.FIXTURE.resolve("model.onnx"), model.modelPath());
            assertTrue(model.maxGoldenDiff() <= 1e-5, "max golden diff " + model.maxGoldenDiff());
        }
        try (DistilledModel model = DistilledModel.builder(DistilledModelTest.FIXTURE).build()) {
            assertEquals(Precision.INT8, model.precision(), "INT8 when the artifact has it, as load(dir)");
        }
    }

    @Test
    void everyOptimizationLevelGivesTheSameAnswers() {
        Predictions expected;
        try (DistilledModel model = DistilledModel.load(DistilledModelTest.FIXTURE, Precision.FP32)) {
            expected = model.predict(ROWS);
        }
        for (OptimizationLevel level : OptimizationLevel.values()) {
            try (DistilledModel model = DistilledModel.builder(DistilledModelTest.FIXTURE).precision(Precision.FP32)
                    .optimizationLevel(level).build()) {
                Predictions actual = model.predict(ROWS);
                for (int i = 0; i < ROWS.length; i++) {
                    assertArrayEquals(expected.logits(i), actual.logits(i), 1e-5f, level + " row " + i);
                }
            }
        }
    }

    @Test
    void invalidOptionsAreRefusedAtBuild() {
        DistilledModel.Builder builder = DistilledModel.builder(DistilledModelTest.FIXTURE).intraOpThreads(0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
        assertTrue(e.getMessage().contains("intraOpThreads must be 1 or more, got 0"), e.getMessage());
        assertThrows(NullPointerException.class, () -> DistilledModel.builder(DistilledModelTest.FIXTURE).precision(null));
        assertThrows(NullPointerException.class,
                () -> DistilledModel.builder(DistilledModelTest.FIXTURE).optimizationLevel(null));
    }

    @Test
    void aPrecisionTheArtifactLacksIsRefusedAtBuild(@TempDir Path dir) throws Exception {
        try (Stream<Path> files = Files.list(DistilledModelTest.FIXTURE)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName().toString()));
            }
        }
        DistilledModelTest.editManifest(dir, m -> m.getAsJsonObject("models").add("int8", com.google.gson.JsonNull.INSTANCE));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DistilledModel.builder(dir).precision(Precision.INT8).build());
        assertTrue(e.getMessage().contains("has no INT8 model"), e.getMessage());
    }

    @Test
    void loadTimingsAccountForTheLoad() {
        try (DistilledModel model = DistilledModel.load(DistilledModelTest.FIXTURE)) {
            LoadTimings t = model.loadTimings();
            Duration phases = t.verify().plus(t.runtimeWait()).plus(t.session()).plus(t.golden());
            assertFalse(phases.isNegative());
            assertTrue(phases.compareTo(t.total()) <= 0, t.toString());
            assertTrue(t.session().compareTo(Duration.ZERO) > 0, t.toString());
        }
    }

    @Test
    void batchAccessorsAgreeWithTheRowPredictions() {
        try (DistilledModel model = DistilledModel.load(DistilledModelTest.FIXTURE, Precision.FP32)) {
            Predictions batch = model.predict(ROWS);
            assertEquals(ROWS.length, batch.size());
            assertEquals(3, batch.classes());
            for (int i = 0; i < ROWS.length; i++) {
                Prediction p = batch.get(i);
                assertEquals(p, model.predict(ROWS[i]), "row " + i + " does not depend on the rest of the batch");
                assertEquals(p.labelIndex(), batch.labelIndex(i));
                assertEquals(p.label(), batch.label(i));
                assertEquals(p.confidence(), batch.confidence(i));
                assertArrayEquals(p.logits(), batch.logits(i));
                assertArrayEquals(p.probabilities(), batch.probabilities(i));
            }
            float[] copy = batch.logits(0);
            copy[0] += 1;
            assertArrayEquals(batch.get(0).logits(), batch.logits(0), "logits(i) is a copy");
            assertThrows(UnsupportedOperationException.class, () -> batch.add(batch.get(0)));
            assertThrows(IndexOutOfBoundsException.class, () -> batch.label(ROWS.length));
            assertEquals(List.copyOf(batch), batch, "equal to a list of its rows");
            assertEquals(List.of(), model.predict(new float[0][]));
        }
    }

    @Test
    void aWrongWidthInABatchNamesTheSampleExpectedAndGiven() {
        try (DistilledModel model = DistilledModel.load(DistilledModelTest.FIXTURE)) {
            float[][] rows = {ROWS[0], {1, 2, 3, 4, 5}};
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.predict(rows));
            assertTrue(e.getMessage().contains("sample 1 has 5 values, expected 4"), e.getMessage());
            assertTrue(e.getMessage().contains("input shape [4]"), e.getMessage());
        }
    }
}
