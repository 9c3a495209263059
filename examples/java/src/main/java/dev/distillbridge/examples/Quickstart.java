package dev.distillbridge.examples;

import dev.distillbridge.client.DistillBridge;
import dev.distillbridge.client.DistillEvent;
import dev.distillbridge.client.DistillException;
import dev.distillbridge.client.DistillationResult;
import dev.distillbridge.client.TeacherInfo;
import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.GoldenVector;
import dev.distillbridge.inference.Prediction;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.MlpConfig;
import dev.distillbridge.spec.QuantType;
import dev.distillbridge.spec.TrainingParams;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Distills a small CNN teacher for Fashion-MNIST (clothing photos, 10 classes; trained by the
 * server on first use, ~20 s, then cached) into a one-hidden-layer INT8 MLP on a Distill Bridge
 * server, downloads the verified artifact and runs it in this JVM. Prints the test accuracies
 * of the majority-class baseline, the teacher and the student, and the retention with its 95%
 * interval (a paired bootstrap over the 10,000 official test images). One run on 2 CPU cores:
 * baseline 0.1000, teacher 0.9056, student 0.8817, 97.4% retained (95% CI 96.8-97.9%), 14x
 * smaller.
 *
 * <pre>
 * mvn -q compile exec:java -Dexec.args="models.internal:50051 /tmp/out ca=/etc/distill/ca.pem"
 * mvn -q compile exec:java -Dexec.args="localhost:50051 /tmp/out plaintext=true epochs=5 lr=0.01 hidden=32"
 * mvn -q compile exec:java -Dexec.args="localhost:50051 /tmp/out plaintext=true teacher=german-credit-mlp dataset=german-credit hidden=16 epochs=60 batch=64 lr=0.001"
 * </pre>
 *
 * The connection is TLS (the JVM's CAs, or {@code ca=PEM} for a private CA); {@code plaintext=true}
 * is for a local server started without {@code --tls-cert}, as {@code make demo} starts one. The
 * token in {@code $DISTILL_BRIDGE_TOKEN}, when set, is sent (over TLS only).
 *
 * Overrides (key=value): teacher, dataset, hidden, epochs, batch, lr, seed. (German Credit has
 * only 150 test rows, 70% of them "good": there a one-row change moves accuracy by 0.67 points
 * and the teacher does not clearly beat always answering "good".)
 */
public final class Quickstart {
    private static final Set<String> INTEGER_METRIC_SUFFIXES = Set.of("_parameters", "_bytes", "_epoch");

    private Quickstart() {
    }

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: Quickstart TARGET OUT_DIR [teacher=...] [dataset=...] [hidden=64] "
                    + "[epochs=10] [batch=256] [lr=0.003] [seed=42]");
            System.exit(2);
        }
        try {
            run(args[0], Path.of(args[1]), overrides(args, 2));
        } catch (DistillException e) {
            System.err.println("distillation failed: " + e.getMessage());
            System.exit(1);
        } catch (RuntimeException e) {
            System.err.println("quickstart failed: " + e);
            System.exit(1);
        }
    }

    private static void run(String target, Path outDir, Map<String, String> opts) {
        try (DistillBridge bridge = connect(target, opts)) {
            System.out.println("Teachers on " + target + ":");
            for (TeacherInfo t : bridge.listTeachers()) {
                System.out.printf(Locale.ROOT, "  %-24s %-12s %-16s %,10d params%s%n", t.name(), t.architecture(),
                        t.dataset(), t.parameters(), t.cached() ? "  (cached)" : "");
            }

            String teacher = opts.getOrDefault("teacher", "fashion-mnist-small-cnn");
            String dataset = opts.getOrDefault("dataset", "fashion-mnist");
            System.out.println("\nDistilling " + teacher + " on " + dataset + " ...");
            DistillationResult result = bridge.newDistiller()
                    .setTeacherModel(teacher)
                    .setStudentConfig(new MlpConfig().setHiddenSizes(Integer.parseInt(opts.getOrDefault("hidden", "64"))))
                    .enableQuantization(QuantType.INT8)
                    .setName("java-quickstart")
                    .setTimeout(Duration.ofMinutes(30))
                    .onEvent(Quickstart::printProgress)
                    .distill(Dataset.builtin(dataset), new TrainingParams()
                            .setEpochs(Integer.parseInt(opts.getOrDefault("epochs", "10")))
                            .setBatchSize(Integer.parseInt(opts.getOrDefault("batch", "256")))
                            .setLearningRate(Double.parseDouble(opts.getOrDefault("lr", "0.003")))
                            .setSeed(Long.parseLong(opts.getOrDefault("seed", "42"))));

            Path dir = result.download(outDir);
            System.out.println("\nArtifact of " + result.jobId() + " in " + dir.toAbsolutePath());
            try (DistilledModel model = DistilledModel.load(dir)) {
                System.out.printf(Locale.ROOT, "Loaded %s (%s); largest difference from the golden outputs: %.3g%n",
                        model.modelPath().getFileName(), model.precision(), model.maxGoldenDiff());
                printPredictions(model);
                model.reportDirectory().ifPresent(report -> System.out.println("\nReport (metrics table and "
                        + "loss curves): " + report.resolve("report.md").toAbsolutePath()));
            }
            printMetrics(result.metrics());
            printAccuracies(result.metrics());
        }
    }

    /**
     * Teacher and student beside the majority-class baseline (always answering the training
     * split's most frequent class): a teacher that does not clearly beat it has nothing to teach.
     * The retention's 95% interval is a paired bootstrap over the test rows.
     */
    static void printAccuracies(Map<String, Double> m) {
        double student = m.getOrDefault("student_int8_accuracy", m.getOrDefault("student_accuracy", Double.NaN));
        String precision = m.containsKey("student_int8_accuracy") ? "INT8" : "fp32";
        System.out.println("\nTest accuracy:");
        if (m.containsKey("majority_baseline_accuracy")) {
            System.out.printf(Locale.ROOT, "  majority-class baseline  %.4f%n", m.get("majority_baseline_accuracy"));
        }
        System.out.printf(Locale.ROOT, "  teacher                  %.4f%n", m.getOrDefault("teacher_accuracy", Double.NaN));
        System.out.printf(Locale.ROOT, "  student (%s)           %.4f  %.1f%% retained", precision, student,
                m.getOrDefault("retention_pct", Double.NaN));
        if (m.containsKey("retention_ci_low_pct") && m.containsKey("retention_ci_high_pct")) {
            System.out.printf(Locale.ROOT, " (95%% CI %.1f-%.1f%%)", m.get("retention_ci_low_pct"),
                    m.get("retention_ci_high_pct"));
        }
        System.out.println();
    }

    /**
     * Prints stages, validation results and warnings as the job runs, and one updating line per
     * phase (teacher preparation, training, export, ...) from its PHASE_PROGRESS events.
     */
    static void printProgress(DistillEvent event) {
        switch (event.kind()) {
            case STAGE:
            case VALIDATION:
                PROGRESS.println("  " + event.summary());
                break;
            case LOG:
                if (!"INFO".equals(event.level()) && !"DEBUG".equals(event.level())) {
                    PROGRESS.println("  " + event.summary());
                }
                break;
            case PHASE_PROGRESS:
                PROGRESS.phase(event);
                break;
            default:
                break;
        }
    }

    private static final PhaseLines PROGRESS = new PhaseLines(System.console() != null);

    /**
     * One line per phase. On a terminal the line is rewritten in place ({@code \r}, padded to
     * clear what it replaces); when the output is piped (as {@code make demo} does) the phase's
     * first event is printed, then at most one line every 10 s or every 25% of the phase, and its
     * last event (one-step phases, such as export, only through their stage line). A phase's
     * message (what it is; how long it will take) stays on its line.
     */
    static final class PhaseLines {
        private static final Duration EVERY = Duration.ofSeconds(10);
        private static final int QUARTERS = 4;
        private static final int MAX_WIDTH = 118;

        private final boolean terminal;
        private final Map<String, Printed> phases = new HashMap<>();
        private String openPhase; // terminal: the phase whose line the cursor is on
        private int openWidth;

        /** What was last printed for a phase. */
        private static final class Printed {
            Duration elapsed = Duration.ZERO;
            int quarter;
            String message = "";
            boolean messageShown;
        }

        PhaseLines(boolean terminal) {
            this.terminal = terminal;
        }

        /** A whole line (a stage, a validation, a warning): ends an open progress line first. */
        synchronized void println(String line) {
            closeLine();
            System.out.println(line);
        }

        synchronized void phase(DistillEvent event) {
            DistillEvent.PhaseProgress p = event.phaseProgress();
            boolean last = p.total() > 0 && p.done() >= p.total();
            Printed printed = phases.get(p.phase());
            boolean first = printed == null;
            if (first) {
                printed = new Printed();
                phases.put(p.phase(), printed);
            }
            if (!p.message().isEmpty()) {
                printed.message = p.message();
                printed.messageShown = false;
            }
            int quarter = (int) Math.floor(p.fraction().orElse(0) * QUARTERS);
            boolean due = first || last || quarter > printed.quarter
                    || p.elapsed().minus(printed.elapsed).compareTo(EVERY) >= 0;
            if (terminal) {
                rewrite(p.phase(), "  " + line(event, printed.message));
            } else if (due && p.total() > 1) { // a one-step phase: its stage line says it all
                System.out.println("  " + line(event, printed.messageShown ? "" : printed.message));
                printed.messageShown = true;
                printed.elapsed = p.elapsed();
                printed.quarter = quarter;
            }
            if (last) {
                phases.remove(p.phase()); // a phase that runs again starts a new line
                if (terminal) {
                    closeLine();
                }
            }
        }

        /** The event's summary without its own message, then {@code message} when there is one. */
        private static String line(DistillEvent event, String message) {
            String summary = event.summary();
            String own = event.phaseProgress().message();
            if (!own.isEmpty() && summary.endsWith(" - " + own)) {
                summary = summary.substring(0, summary.length() - own.length() - 3);
            }
            return message.isEmpty() ? summary : summary + " - " + message;
        }

        private void rewrite(String phase, String line) {
            if (openPhase != null && !openPhase.equals(phase)) {
                closeLine();
            }
            if (line.length() > MAX_WIDTH) {
                line = line.substring(0, MAX_WIDTH - 3) + "...";
            }
            System.out.print("\r" + line + " ".repeat(Math.max(0, openWidth - line.length())));
            System.out.flush();
            openPhase = phase;
            openWidth = line.length();
        }

        private void closeLine() {
            if (openPhase != null) {
                System.out.println();
                openPhase = null;
                openWidth = 0;
            }
        }
    }

    private static void printPredictions(DistilledModel model) {
        String file = model.modelPath().getFileName().toString();
        GoldenVector golden = model.manifest().goldenVector(file).orElseThrow();
        System.out.println("\nPredictions on the golden inputs (labels " + model.labels() + "):");
        for (int i = 0; i < Math.min(5, golden.rows()); i++) {
            Prediction p = model.predict(golden.inputRow(i));
            StringBuilder probabilities = new StringBuilder();
            for (float v : p.probabilities()) {
                probabilities.append(String.format(Locale.ROOT, " %.3f", v));
            }
            System.out.printf(Locale.ROOT, "  sample %d: %-12s p =%s%n", i, p.label(), probabilities);
        }
    }

    /** Prints the job's metrics, one per line, formatted by their name's suffix. */
    static void printMetrics(Map<String, Double> metrics) {
        System.out.println("\nMetrics:");
        int width = metrics.keySet().stream().mapToInt(String::length).max().orElse(10);
        metrics.forEach((name, value) -> System.out.printf(Locale.ROOT, "  %-" + width + "s  %s%n", name,
                format(name, value)));
    }

    private static String format(String name, double value) {
        if (INTEGER_METRIC_SUFFIXES.stream().anyMatch(name::endsWith)) {
            return String.format(Locale.ROOT, "%,d", Math.round(value));
        }
        if (name.endsWith("_ms")) {
            return String.format(Locale.ROOT, "%.4f ms", value);
        }
        if (name.endsWith("_seconds")) {
            return String.format(Locale.ROOT, "%.2f s", value);
        }
        if (name.endsWith("_pct")) {
            return String.format(Locale.ROOT, "%.2f %%", value);
        }
        if (name.endsWith("_ratio") || name.equals("speedup")) {
            return String.format(Locale.ROOT, "%.2fx", value);
        }
        if (value != 0 && Math.abs(value) < 1e-3) {
            return String.format(Locale.ROOT, "%.3e", value);
        }
        return String.format(Locale.ROOT, "%.4f", value);
    }

    /** TLS unless {@code plaintext=true}; {@code ca=PEM} trusts a private CA; the token from the environment. */
    static DistillBridge connect(String target, Map<String, String> opts) {
        DistillBridge.Builder builder = DistillBridge.builder(target);
        if (Boolean.parseBoolean(opts.getOrDefault("plaintext", "false"))) {
            builder.usePlaintext();
        }
        if (opts.containsKey("ca")) {
            builder.trustCertificate(Path.of(opts.get("ca")));
        }
        String token = System.getenv("DISTILL_BRIDGE_TOKEN");
        if (token != null && !token.isBlank()) {
            builder.bearerToken(token);
        }
        return builder.build();
    }

    /** The key=value arguments after the first {@code skip}. */
    static Map<String, String> overrides(String[] args, int skip) {
        Map<String, String> opts = new HashMap<>();
        for (String arg : List.of(args).subList(skip, args.length)) {
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected key=value, got '" + arg + "'");
            }
            opts.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        return opts;
    }
}
