package dev.distillbridge.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;

/**
 * Java's {@code predict(List<String>)} against Python's ONNX Runtime on 500 airline tweets: the
 * same argmax for every tweet and probabilities within 1e-4, for every model of the artifact
 * (fp32 and INT8). Both sides predict the same batches (text/ort_reference.py).
 *
 * <p>The artifact is the tiny generated fixture, or {@code -Ddistillbridge.textArtifact=DIR}
 * (e.g. a real distilled student).
 */
@DisabledIfSystemProperty(named = "distillbridge.pythonReference", matches = "skip")
class TextPredictParityTest {
    private static final int TWEETS = 500;
    private static final double MAX_PROBABILITY_DIFF = 1e-4;

    @Test
    void javaPredictionsMatchPythonOnnxRuntime() throws IOException {
        Path artifact = artifact();
        Path out = PythonReference.output("ort-reference.json");
        PythonReference.run("text/ort_reference.py", artifact.toString(), out.toString(), "--limit",
                Integer.toString(TWEETS));
        JsonObject reference = JsonParser.parseString(Files.readString(out, StandardCharsets.UTF_8)).getAsJsonObject();
        List<String> texts = new ArrayList<>();
        reference.getAsJsonArray("texts").forEach(t -> texts.add(t.getAsString()));
        assertEquals(TWEETS, texts.size());
        int batchSize = reference.get("batch_size").getAsInt();
        JsonObject probabilities = reference.getAsJsonObject("probabilities");
        assertFalse(probabilities.isEmpty());

        ArtifactManifest manifest = ArtifactManifest.read(artifact);
        for (Precision precision : Precision.values()) {
            String file = manifest.modelFile(precision).orElse(null);
            if (file != null) {
                compare(artifact, precision, texts, batchSize, probabilities.getAsJsonArray(file));
            }
        }
    }

    private static void compare(Path artifact, Precision precision, List<String> texts, int batchSize,
            JsonArray expected) {
        try (DistilledModel model = DistilledModel.load(artifact, precision)) {
            List<Prediction> predictions = new ArrayList<>();
            for (int i = 0; i < texts.size(); i += batchSize) {
                predictions.addAll(model.predict(texts.subList(i, Math.min(i + batchSize, texts.size()))));
            }
            double maxDiff = 0;
            int argmaxDiffers = 0;
            for (int row = 0; row < texts.size(); row++) {
                JsonArray python = expected.get(row).getAsJsonArray();
                float[] java = predictions.get(row).probabilities();
                assertEquals(python.size(), java.length);
                int pythonArgmax = 0;
                for (int c = 0; c < java.length; c++) {
                    maxDiff = Math.max(maxDiff, Math.abs(java[c] - python.get(c).getAsDouble()));
                    if (python.get(c).getAsDouble() > python.get(pythonArgmax).getAsDouble()) {
                        pythonArgmax = c;
                    }
                }
                if (pythonArgmax != predictions.get(row).labelIndex()) {
                    argmaxDiffers++;
                }
            }
            String summary = String.format(Locale.ROOT, "%s: %d tweets, argmax differs on %d, max probability diff %.3g",
                    model.modelPath().getFileName(), texts.size(), argmaxDiffers, maxDiff);
            System.out.println("TextPredictParityTest " + summary);
            assertEquals(0, argmaxDiffers, summary);
            assertTrue(maxDiff <= MAX_PROBABILITY_DIFF, summary);
        }
    }

    private static Path artifact() {
        String configured = System.getProperty("distillbridge.textArtifact", "");
        return configured.isBlank() ? PythonReference.tinyTextArtifact() : Path.of(configured).toAbsolutePath();
    }
}
