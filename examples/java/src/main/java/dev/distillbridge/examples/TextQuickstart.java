package dev.distillbridge.examples;

import dev.distillbridge.client.DistillBridge;
import dev.distillbridge.client.DistillException;
import dev.distillbridge.client.DistillationResult;
import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.Prediction;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.QuantType;
import dev.distillbridge.spec.TeacherPreparation;
import dev.distillbridge.spec.TrainingParams;
import dev.distillbridge.spec.TransformerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Distills the real all-MiniLM-L6-v2 (prepared by the server: a sentiment head fine-tuned on
 * the airline tweets) into a small INT8 Transformer, downloads the verified artifact and
 * classifies raw text in this JVM, tokenized in Java with the artifact's tokenizer.json.
 *
 * <pre>
 * mvn -q compile exec:java -Dexec.mainClass=dev.distillbridge.examples.TextQuickstart \
 *     -Dexec.args="localhost:50051 /tmp/text-out plaintext=true layers=2 epochs=2"
 * mvn -q compile exec:java -Dexec.mainClass=dev.distillbridge.examples.TextQuickstart \
 *     -Dexec.args="--artifact /tmp/text-out 'my bag is lost again'"
 * </pre>
 *
 * Overrides (key=value): layers, hidden, heads, intermediate, max-len, epochs, alpha, batch, lr,
 * prep-epochs, fine-tune, seed; the connection options are {@link Quickstart}'s ({@code plaintext=true}
 * for a local server without TLS, {@code ca=PEM}). {@code --artifact DIR [texts...]} skips the
 * distillation and only loads and runs an artifact.
 */
public final class TextQuickstart {
    private static final List<String> SAMPLES = List.of(
            "@united thank you for the upgrade, best flight ever!",
            "@AmericanAir 3 hours on the tarmac and still no update. Unacceptable.",
            "@JetBlue what time does boarding start for flight 1171?",
            "@SouthwestAir my bag is lost... AGAIN");

    private TextQuickstart() {
    }

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: TextQuickstart TARGET OUT_DIR [layers=2] [hidden=384] [epochs=2] ... | "
                    + "TextQuickstart --artifact DIR [texts...]");
            System.exit(2);
        }
        try {
            if (args[0].equals("--artifact")) {
                List<String> texts = args.length > 2 ? Arrays.asList(args).subList(2, args.length) : SAMPLES;
                classify(Path.of(args[1]), texts);
            } else {
                distill(args[0], Path.of(args[1]), Quickstart.overrides(args, 2));
            }
        } catch (DistillException e) {
            System.err.println("text quickstart failed: " + e.getMessage());
            System.exit(1);
        }
    }

    private static void distill(String target, Path outDir, Map<String, String> opts) {
        try (DistillBridge bridge = Quickstart.connect(target, opts)) {
            System.out.println("Distilling minilm-l6 on airline-sentiment ...");
            DistillationResult result = bridge.newDistiller()
                    .setTeacherModel("minilm-l6")
                    .setTeacherPreparation(new TeacherPreparation()
                            .setFineTuneEncoder(Boolean.parseBoolean(opts.getOrDefault("fine-tune", "true")))
                            .setEpochs(Integer.parseInt(opts.getOrDefault("prep-epochs", "2"))))
                    .setStudentConfig(new TransformerConfig()
                            .setLayers(Integer.parseInt(opts.getOrDefault("layers", "2")))
                            .setHiddenSize(Integer.parseInt(opts.getOrDefault("hidden", "384")))
                            .setHeads(Integer.parseInt(opts.getOrDefault("heads", "12")))
                            .setIntermediateSize(Integer.parseInt(opts.getOrDefault("intermediate", "1536")))
                            .setMaxSeqLen(Integer.parseInt(opts.getOrDefault("max-len", "64"))))
                    .enableQuantization(QuantType.INT8)
                    .setName("java-text-quickstart")
                    .setTimeout(Duration.ofHours(2))
                    .onEvent(Quickstart::printProgress)
                    .distill(Dataset.builtin("airline-sentiment"), new TrainingParams()
                            .setEpochs(Integer.parseInt(opts.getOrDefault("epochs", "3")))
                            .setAlpha(Double.parseDouble(opts.getOrDefault("alpha", "0.7")))
                            .setBatchSize(Integer.parseInt(opts.getOrDefault("batch", "32")))
                            .setLearningRate(Double.parseDouble(opts.getOrDefault("lr", "1e-4")))
                            .setSeed(Long.parseLong(opts.getOrDefault("seed", "42"))));
            Path dir = result.download(outDir);
            System.out.println("\nArtifact of " + result.jobId() + " in " + dir.toAbsolutePath());
            classify(dir, SAMPLES);
            Quickstart.printMetrics(result.metrics());
        }
    }

    private static void classify(Path dir, List<String> texts) {
        try (DistilledModel model = DistilledModel.load(dir)) {
            System.out.printf(Locale.ROOT, "Loaded %s (%s); golden token ids reproduced in Java, largest output "
                    + "difference %.3g%n", model.modelPath().getFileName(), model.precision(), model.maxGoldenDiff());
            List<Prediction> predictions = model.predict(texts);
            for (int i = 0; i < texts.size(); i++) {
                Prediction p = predictions.get(i);
                System.out.printf(Locale.ROOT, "  %-9s %.3f  %s%n", p.label(), p.confidence(), texts.get(i));
            }
        }
    }
}
