package dev.distillbridge.inference;

import static dev.distillbridge.inference.ManifestJson.FILE;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.TreeMap;

/**
 * A parsed manifest.json (artifact format version 1): the key facts typed, and the whole
 * document as JSON through {@link #json()}. Immutable.
 */
public final class ArtifactManifest {
    /** The artifact format version this client reads. */
    public static final int FORMAT_VERSION = 1;
    /** The {@link #modality()} of a model that takes raw text (token ids and an attention mask). */
    public static final String TEXT = "text";

    private final JsonObject json;
    private final String jobId;
    private final String modality;
    private final TensorSpec input;
    private final List<TensorSpec> inputs;
    private final TensorSpec output;
    private final TokenizerSpec tokenizer;
    private final List<String> labels;
    private final Map<Precision, String> models;
    private final Map<String, ArtifactFile> files;
    private final Map<String, Double> metrics;
    private final Map<String, GoldenVector> goldenVectors;
    private final Map<String, List<OnnxOperator>> operators;
    private final JvmCheck jvmCheck;
    private final String reportMarkdown;
    private final Map<String, ArtifactFile> reportFiles;

    private ArtifactManifest(JsonObject json) {
        int version = (int) ManifestJson.number(json, "format_version", "format_version");
        if (version != FORMAT_VERSION) {
            throw new ModelException(ModelException.Code.UNSUPPORTED_FORMAT, FILE,
                    FILE + ": format_version " + version + " is not supported (this client reads " + FORMAT_VERSION + ")");
        }
        this.json = json;
        this.jobId = orEmpty(ManifestJson.optionalString(json, "job_id", "job_id"));
        this.modality = orEmpty(ManifestJson.optionalString(json, "modality", "modality"));
        this.input = tensor(ManifestJson.object(json, "input", "input"), "input");
        this.inputs = parseInputs(json, input);
        this.output = tensor(ManifestJson.object(json, "output", "output"), "output");
        this.tokenizer = parseTokenizer(json);
        if (TEXT.equals(modality) && tokenizer == null) {
            throw ManifestJson.invalid("tokenizer", "an object (the modality is text)");
        }
        this.labels = parseLabels(json);
        this.models = parseModels(json);
        this.files = parseFiles(ManifestJson.object(json, "files", "files"), "files");
        JsonObject report = ManifestJson.optionalObject(json, "report", "report");
        this.reportMarkdown = report == null ? null : ManifestJson.optionalString(report, "markdown", "report.markdown");
        JsonObject reportFiles = report == null ? null : ManifestJson.optionalObject(report, "files", "report.files");
        this.reportFiles = reportFiles == null ? Map.of() : parseFiles(reportFiles, "report.files");
        this.metrics = parseMetrics(json);
        this.goldenVectors = parseGoldenVectors(json);
        this.operators = parseOperators(json);
        this.jvmCheck = parseJvmCheck(json);
    }

    /**
     * Parses manifest.json text.
     *
     * @throws ModelException ({@code MANIFEST_INVALID}) when it is not valid JSON or lacks a required key
     */
    public static ArtifactManifest parse(String manifestJson) {
        JsonElement root;
        try {
            root = JsonParser.parseString(manifestJson);
        } catch (JsonParseException e) {
            throw new ModelException(ModelException.Code.MANIFEST_INVALID, FILE, FILE + " is not valid JSON: " + e.getMessage(), e);
        }
        if (!root.isJsonObject()) {
            throw new ModelException(ModelException.Code.MANIFEST_INVALID, FILE, FILE + " is not a JSON object");
        }
        return new ArtifactManifest(root.getAsJsonObject());
    }

    /** Reads and parses {@code dir/manifest.json}. */
    public static ArtifactManifest read(Path dir) {
        Path path = dir.resolve(FILE);
        try {
            return parse(Files.readString(path, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new ModelException(ModelException.Code.MANIFEST_INVALID, FILE, "no " + FILE + " in " + dir, e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }

    /** The whole document (a copy; changing it changes nothing here). */
    public JsonObject json() {
        return json.deepCopy();
    }

    public String jobId() {
        return jobId;
    }

    /** "tabular", "image" or "text". */
    public String modality() {
        return modality;
    }

    /** The model's (first) input. */
    public TensorSpec input() {
        return input;
    }

    /**
     * Every model input, in order: {@code inputs} of the manifest, or just {@link #input()} when
     * it has none (tabular and image models).
     */
    public List<TensorSpec> inputs() {
        return inputs;
    }

    /** True for a model that takes raw text ({@code "modality": "text"}). */
    public boolean isText() {
        return TEXT.equals(modality);
    }

    /** How a text model tokenizes; empty for other modalities. */
    public Optional<TokenizerSpec> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    public TensorSpec output() {
        return output;
    }

    /** Class labels in logit order; the prediction's label is {@code labels().get(argmax)}. */
    public List<String> labels() {
        return labels;
    }

    /** The file name of the model of this precision ({@code models.fp32} / {@code models.int8}). */
    public Optional<String> modelFile(Precision precision) {
        return Optional.ofNullable(models.get(precision));
    }

    /** Every file of the artifact except manifest.json, by name. */
    public Map<String, ArtifactFile> files() {
        return files;
    }

    /**
     * The files a session on {@code modelFile} reads: every file except the models of the other
     * precisions (an INT8 load need not hash the fp32 model it never opens).
     */
    public Map<String, ArtifactFile> filesUsedBy(String modelFile) {
        Map<String, ArtifactFile> used = new java.util.LinkedHashMap<>(files);
        for (String model : models.values()) {
            if (!model.equals(modelFile)) {
                used.remove(model);
            }
        }
        return java.util.Collections.unmodifiableMap(used);
    }

    /**
     * The per-job report's markdown file ({@code report/report.md}), relative to the artifact;
     * empty for artifacts without a report.
     */
    public Optional<String> reportMarkdown() {
        return Optional.ofNullable(reportMarkdown);
    }

    /**
     * The per-job report's files ({@code report/report.md}, {@code report/loss_curves.png}) by
     * name, with size and SHA-256; empty for artifacts without a report. Not part of
     * {@link #files()}: a model loads without its report.
     */
    public Map<String, ArtifactFile> reportFiles() {
        return reportFiles;
    }

    /** The job's metrics (accuracies, sizes, latencies), sorted by name. */
    public Map<String, Double> metrics() {
        return metrics;
    }

    /** The golden vectors recorded for a model file. */
    public Optional<GoldenVector> goldenVector(String modelFile) {
        return Optional.ofNullable(goldenVectors.get(modelFile));
    }

    /** All golden vectors, by model file. */
    public Map<String, GoldenVector> goldenVectors() {
        return goldenVectors;
    }

    /**
     * The ONNX operators of each model file (domain, opset, and whether ONNX Runtime's CPU
     * provider runs each), by file name; empty for artifacts made before the operator report.
     */
    public Map<String, List<OnnxOperator>> operators() {
        return operators;
    }

    /** The server's in-JVM verification of this artifact, when the manifest records one. */
    public Optional<JvmCheck> jvmCheck() {
        return Optional.ofNullable(jvmCheck);
    }

    /** True when the INT8 model failed its gate and the job shipped fp32 only (fp32_fallback). */
    public boolean int8Fallback() {
        return metrics.getOrDefault("int8_fallback", 0.0) > 0;
    }

    @Override
    public String toString() {
        return "ArtifactManifest{jobId=" + jobId + ", modality=" + modality + ", inputs=" + inputs
                + ", output=" + output + ", labels=" + labels + ", models=" + models + "}";
    }

    private static TensorSpec tensor(JsonObject spec, String path) {
        long[] shape = ManifestJson.longs(spec, "shape", path + ".shape");
        return new TensorSpec(ManifestJson.string(spec, "name", path + ".name"),
                ManifestJson.string(spec, "dtype", path + ".dtype"),
                boxed(shape));
    }

    private static List<Long> boxed(long[] values) {
        Long[] out = new Long[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return List.of(out);
    }

    private static List<TensorSpec> parseInputs(JsonObject json, TensorSpec input) {
        if (!json.has("inputs") || json.get("inputs").isJsonNull()) {
            return List.of(input);
        }
        List<TensorSpec> inputs = new ArrayList<>();
        JsonArray array = ManifestJson.array(json, "inputs", "inputs");
        for (int i = 0; i < array.size(); i++) {
            String path = "inputs[" + i + "]";
            if (!array.get(i).isJsonObject()) {
                throw ManifestJson.invalid(path, "an object");
            }
            inputs.add(tensor(array.get(i).getAsJsonObject(), path));
        }
        return List.copyOf(inputs);
    }

    private static TokenizerSpec parseTokenizer(JsonObject json) {
        JsonObject t = ManifestJson.optionalObject(json, "tokenizer", "tokenizer");
        if (t == null) {
            return null;
        }
        return new TokenizerSpec(ManifestJson.string(t, "file", "tokenizer.file"),
                optional(t, "type", TokenizerSpec.WORDPIECE),
                (int) ManifestJson.number(t, "max_length", "tokenizer.max_length"),
                ManifestJson.bool(t, "lowercase", "tokenizer.lowercase"),
                ManifestJson.bool(t, "strip_accents", "tokenizer.strip_accents"),
                (long) ManifestJson.number(t, "pad_id", "tokenizer.pad_id"),
                optional(t, "pad_token", "[PAD]"), optional(t, "unk_token", "[UNK]"),
                optional(t, "cls_token", "[CLS]"), optional(t, "sep_token", "[SEP]"),
                optional(t, "padding", TokenizerSpec.PAD_TO_LONGEST));
    }

    private static String optional(JsonObject tokenizer, String key, String fallback) {
        String value = ManifestJson.optionalString(tokenizer, key, "tokenizer." + key);
        return value == null ? fallback : value;
    }

    private static List<String> parseLabels(JsonObject json) {
        if (!json.has("labels") || json.get("labels").isJsonNull()) {
            return List.of();
        }
        List<String> labels = new ArrayList<>();
        for (JsonElement e : ManifestJson.array(json, "labels", "labels")) {
            labels.add(e.getAsString());
        }
        return List.copyOf(labels);
    }

    private static Map<Precision, String> parseModels(JsonObject json) {
        JsonObject models = ManifestJson.object(json, "models", "models");
        Map<Precision, String> out = new LinkedHashMap<>();
        out.put(Precision.FP32, ManifestJson.string(models, "fp32", "models.fp32"));
        String int8 = ManifestJson.optionalString(models, "int8", "models.int8");
        if (int8 != null) {
            out.put(Precision.INT8, int8);
        }
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, ArtifactFile> parseFiles(JsonObject files, String key) {
        Map<String, ArtifactFile> out = new LinkedHashMap<>();
        for (String name : files.keySet()) {
            String path = key + "." + name;
            JsonObject entry = ManifestJson.object(files, name, path);
            out.put(name, new ArtifactFile(name,
                    (long) ManifestJson.number(entry, "size_bytes", path + ".size_bytes"),
                    ManifestJson.string(entry, "sha256", path + ".sha256")));
        }
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, Double> parseMetrics(JsonObject json) {
        JsonObject metrics = ManifestJson.optionalObject(json, "metrics", "metrics");
        Map<String, Double> out = new TreeMap<>();
        if (metrics != null) {
            for (Map.Entry<String, JsonElement> e : metrics.entrySet()) {
                JsonElement v = e.getValue();
                if (v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber()) {
                    out.put(e.getKey(), v.getAsDouble());
                }
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, GoldenVector> parseGoldenVectors(JsonObject json) {
        JsonObject golden = ManifestJson.optionalObject(json, "golden_vectors", "golden_vectors");
        Map<String, GoldenVector> out = new LinkedHashMap<>();
        if (golden != null) {
            for (String file : golden.keySet()) {
                String path = "golden_vectors." + file;
                JsonObject g = ManifestJson.object(golden, file, path);
                out.put(file, g.has("texts") ? textGoldenVector(file, g, path) : GoldenVector.numeric(file,
                        ManifestJson.longs(g, "input_shape", path + ".input_shape"),
                        ManifestJson.floats(g, "input", path + ".input"),
                        ManifestJson.longs(g, "output_shape", path + ".output_shape"),
                        ManifestJson.floats(g, "output", path + ".output"),
                        ManifestJson.number(g, "atol", path + ".atol")));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static GoldenVector textGoldenVector(String file, JsonObject g, String path) {
        GoldenVector vector = GoldenVector.text(file,
                ManifestJson.strings(g, "texts", path + ".texts"),
                ManifestJson.longs(g, "input_shape", path + ".input_shape"),
                ManifestJson.longs(g, "input_ids", path + ".input_ids"),
                ManifestJson.longs(g, "attention_mask", path + ".attention_mask"),
                ManifestJson.longs(g, "output_shape", path + ".output_shape"),
                ManifestJson.floats(g, "output", path + ".output"),
                ManifestJson.number(g, "atol", path + ".atol"));
        long[] shape = vector.inputShapeView();
        long cells = shape.length == 2 ? shape[0] * shape[1] : -1;
        if (shape.length != 2 || shape[0] != vector.texts().size() || vector.inputIdsView().length != cells
                || vector.attentionMaskView().length != cells) {
            throw new ModelException(ModelException.Code.MANIFEST_INVALID, FILE, FILE + ": '" + path + "' is inconsistent: "
                    + vector.texts().size() + " texts, input_shape " + Arrays.toString(shape) + ", "
                    + vector.inputIdsView().length + " input_ids, " + vector.attentionMaskView().length
                    + " attention_mask values");
        }
        return vector;
    }

    private static Map<String, List<OnnxOperator>> parseOperators(JsonObject json) {
        JsonObject byFile = ManifestJson.optionalObject(json, "operators", "operators");
        Map<String, List<OnnxOperator>> out = new LinkedHashMap<>();
        if (byFile != null) {
            for (String file : byFile.keySet()) {
                List<OnnxOperator> ops = new ArrayList<>();
                JsonArray array = ManifestJson.array(byFile, file, "operators." + file);
                for (int i = 0; i < array.size(); i++) {
                    String path = "operators." + file + "[" + i + "]";
                    if (!array.get(i).isJsonObject()) {
                        throw ManifestJson.invalid(path, "an object");
                    }
                    JsonObject o = array.get(i).getAsJsonObject();
                    ops.add(new OnnxOperator(ManifestJson.string(o, "op_type", path + ".op_type"),
                            ManifestJson.string(o, "domain", path + ".domain"),
                            (int) ManifestJson.number(o, "opset", path + ".opset"),
                            (int) ManifestJson.number(o, "since_version", path + ".since_version"),
                            (int) ManifestJson.number(o, "count", path + ".count"),
                            o.has("cpu") && o.get("cpu").getAsBoolean(),
                            orEmpty(ManifestJson.optionalString(o, "cpu_via", path + ".cpu_via"))));
                }
                out.put(file, List.copyOf(ops));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static JvmCheck parseJvmCheck(JsonObject json) {
        JsonObject verification = ManifestJson.optionalObject(json, "verification", "verification");
        JsonObject jvm = verification == null ? null : ManifestJson.optionalObject(verification, "jvm", "verification.jvm");
        if (jvm == null) {
            return null;
        }
        JsonElement diff = jvm.get("max_abs_diff");
        return new JvmCheck(ManifestJson.string(jvm, "status", "verification.jvm.status"),
                orEmpty(ManifestJson.optionalString(jvm, "reason", "verification.jvm.reason")),
                diff == null || diff.isJsonNull() ? OptionalDouble.empty() : OptionalDouble.of(diff.getAsDouble()),
                orEmpty(ManifestJson.optionalString(jvm, "java_version", "verification.jvm.java_version")),
                orEmpty(ManifestJson.optionalString(jvm, "onnxruntime_java_version",
                        "verification.jvm.onnxruntime_java_version")));
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }
}
