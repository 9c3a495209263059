package dev.distillbridge.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.distillbridge.tokenizer.TokenizedBatch;
import dev.distillbridge.tokenizer.Tokenizer;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

/**
 * A downloaded artifact, verified and opened with ONNX Runtime.
 *
 * <p>{@link #load(Path)} trusts nothing it has not checked: it reads manifest.json, checks the
 * size and SHA-256 of every file it lists, opens the model and replays that model's golden
 * vectors (inputs with the outputs Python's ONNX Runtime produced); any mismatch is an
 * {@link ModelException}, never a silently wrong answer.
 *
 * <pre>{@code
 * try (DistilledModel model = DistilledModel.load(dir)) {
 *     Prediction p = model.predict(new float[] {...});  // one sample, row-major
 *     System.out.println(p.label() + " " + p.confidence());
 * }
 * }</pre>
 *
 * <p>A text model ({@code "modality": "text"}) takes raw text instead: {@link #predict(String)}
 * and {@link #predict(List)} tokenize in this JVM with the artifact's {@code tokenizer.json}
 * (see {@link dev.distillbridge.tokenizer.WordPieceTokenizer}), giving the same ids as Python's tokenizer; loading checks
 * that on the golden texts before it checks the outputs.
 *
 * <p>Thread-safe: one instance (one ONNX Runtime session) serves all threads. Close it to free
 * native memory.
 */
public final class DistilledModel implements AutoCloseable {
    private static final String FLOAT32 = "float32";

    private final Path dir;
    private final ArtifactManifest manifest;
    private final Precision precision;
    private final Path modelPath;
    private final OrtSession session;
    /** The text model's tokenizer; null for numeric models. */
    private final Tokenizer tokenizer;
    private final double maxGoldenDiff;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    private DistilledModel(Path dir, ArtifactManifest manifest, Precision precision, Path modelPath,
            OrtSession session, Tokenizer tokenizer, double maxGoldenDiff) {
        this.dir = dir;
        this.manifest = manifest;
        this.precision = precision;
        this.modelPath = modelPath;
        this.session = session;
        this.tokenizer = tokenizer;
        this.maxGoldenDiff = maxGoldenDiff;
    }

    /**
     * Verifies and opens the artifact in {@code dir}: the INT8 model when the artifact has one,
     * else the fp32 model.
     *
     * @throws ModelException when a file's size or SHA-256 ({@code SIZE_MISMATCH},
     *     {@code HASH_MISMATCH}), or a golden vector (for text: the token ids too;
     *     {@code GOLDEN_MISMATCH}) does not match, or the manifest or a text model's tokenizer
     *     cannot be read, or ONNX Runtime cannot load the model ({@code MODEL_LOAD_FAILED})
     */
    public static DistilledModel load(Path dir) {
        ArtifactManifest manifest = ArtifactManifest.read(dir);
        Precision precision = manifest.modelFile(Precision.INT8).isPresent() ? Precision.INT8 : Precision.FP32;
        return open(dir, manifest, precision);
    }

    /**
     * Verifies and opens the model of the given precision.
     *
     * @throws IllegalArgumentException when the artifact has no model of that precision
     * @throws ModelException as {@link #load(Path)}
     */
    public static DistilledModel load(Path dir, Precision precision) {
        return open(dir, ArtifactManifest.read(dir), Objects.requireNonNull(precision, "precision"));
    }

    private static DistilledModel open(Path dir, ArtifactManifest manifest, Precision precision) {
        String file = manifest.modelFile(precision).orElseThrow(() -> new IllegalArgumentException(
                "the artifact in " + dir + " has no " + precision + " model (models." + precision.manifestKey()
                        + " is absent)"));
        if (!manifest.files().containsKey(file)) {
            throw new ModelException(ModelException.Code.MANIFEST_INVALID, file,
                    file + " is not listed under files in manifest.json, so its SHA-256 cannot be checked");
        }
        // Every file must be there at its size; only the files this session reads are hashed
        // (an INT8 load skips hashing the fp32 model; selfCheck() hashes everything).
        Map<String, ArtifactFile> used = manifest.filesUsedBy(file);
        manifest.files().values().forEach(f -> {
            Path path = ArtifactFiles.resolve(dir, f.name());
            if (used.containsKey(f.name())) {
                ArtifactFiles.verify(path, f);
            } else {
                ArtifactFiles.verifyPresence(path, f);
            }
        });
        GoldenVector golden = manifest.goldenVector(file).orElseThrow(() -> new ModelException(ModelException.Code.MANIFEST_INVALID, file,
                "manifest.json has no golden vectors for " + file + ", so its outputs cannot be checked"));
        Tokenizer tokenizer = null;
        if (manifest.isText()) {
            TextArtifact.checkInputs(manifest);
            tokenizer = TextArtifact.tokenizer(dir, manifest);
        }
        Path modelPath = ArtifactFiles.resolve(dir, file);
        OrtSession session = createSession(modelPath, file);
        try {
            double diff = tokenizer == null ? replay(session, manifest, golden)
                    : replayText(session, manifest, tokenizer, golden);
            return new DistilledModel(dir, manifest, precision, modelPath, session, tokenizer, diff);
        } catch (RuntimeException e) {
            closeQuietly(session);
            throw e;
        }
    }

    /**
     * Predicts one sample: its features flattened row-major, {@code product(input.shape[1:])}
     * values (e.g. 20 for a {@code [-1, 20]} tabular model, 784 for {@code [-1, 1, 28, 28]}).
     *
     * @throws IllegalArgumentException when the length is wrong
     */
    public Prediction predict(float[] sample) {
        return predict(new float[][] {sample}).get(0);
    }

    /**
     * Predicts a batch of samples in one run; see {@link #predict(float[])}.
     *
     * @throws IllegalStateException for a text model (use {@link #predict(List)})
     */
    public List<Prediction> predict(float[][] batch) {
        Objects.requireNonNull(batch, "batch");
        if (tokenizer != null) {
            throw new IllegalStateException("this is a text model (manifest modality \"text\"): call predict(String) "
                    + "or predict(List<String>), not predict(float[])");
        }
        if (batch.length == 0) {
            return List.of();
        }
        long[] shape = batchShape(batch.length);
        float[] flat = flatten(batch, shape);
        return withSession(s -> predictions(runFloat(s, manifest, shape, flat).values(), batch.length));
    }

    /**
     * Predicts one raw text (text models): tokenized in this JVM with the artifact's tokenizer,
     * truncated to the manifest's {@code max_length} tokens.
     *
     * @throws IllegalStateException when this is not a text model
     */
    public Prediction predict(String text) {
        return predict(List.of(Objects.requireNonNull(text, "text"))).get(0);
    }

    /**
     * Predicts a batch of raw texts in one run, padded to the longest; each row's answer is the
     * one {@link #predict(String)} gives for that text (up to floating-point rounding).
     *
     * @throws IllegalStateException when this is not a text model
     */
    public List<Prediction> predict(List<String> texts) {
        Objects.requireNonNull(texts, "texts");
        if (tokenizer == null) {
            throw new IllegalStateException("predict(String) needs a text model, but this model's modality is \""
                    + manifest.modality() + "\": call predict(float[]) with " + manifest.input().shape()
                    + " features");
        }
        if (texts.isEmpty()) {
            return List.of();
        }
        TokenizedBatch batch = tokenizer.encodeBatch(texts);
        return withSession(s -> predictions(runText(s, manifest, batch).values(), batch.rows()));
    }

    /** The text model's tokenizer. */
    public Optional<Tokenizer> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    /** Class labels in logit order. */
    public List<String> labels() {
        return manifest.labels();
    }

    /** The model's input shape from the manifest; -1 marks the batch axis. */
    public long[] inputShape() {
        return manifest.input().shapeArray();
    }

    /** The artifact's manifest. */
    public ArtifactManifest manifest() {
        return manifest;
    }

    /**
     * The artifact's report directory ({@code report/}: {@code report.md} with the metrics
     * table, {@code loss_curves.png} with the training curves), when the manifest lists a
     * report and the directory is there; empty otherwise (e.g. an artifact made before reports).
     */
    public Optional<Path> reportDirectory() {
        return manifest.reportMarkdown()
                .map(name -> ArtifactFiles.resolve(dir, name).getParent())
                .filter(Files::isDirectory);
    }

    /** Which model was opened. */
    public Precision precision() {
        return precision;
    }

    /** The opened ONNX file. */
    public Path modelPath() {
        return modelPath;
    }

    /** The largest absolute difference between this JVM's outputs and the golden outputs. */
    public double maxGoldenDiff() {
        return maxGoldenDiff;
    }

    /** The ONNX model's own metadata ({@code metadata_props}, e.g. {@code distillbridge.job_id}). */
    public Map<String, String> modelMetadata() {
        return withSession(s -> {
            try {
                return Map.copyOf(s.getMetadata().getCustomMetadata());
            } catch (OrtException e) {
                throw runtimeFailure("cannot read model metadata", e);
            }
        });
    }

    /**
     * Checks, now, that this model still matches its artifact: every file listed in the
     * manifest against its size and SHA-256 on disk, and the golden vectors replayed through
     * this live session (the same checks as {@link #load(Path)}). Never throws for a failed
     * check: the report says {@code healthy=false} and names the problem, so a health endpoint
     * can show it. Safe to call from any thread while predictions run.
     */
    public SelfCheckReport selfCheck() {
        Instant start = Instant.now();
        long t0 = System.nanoTime();
        String file = modelPath.getFileName().toString();
        Map<String, String> hashes = new TreeMap<>();
        GoldenVector golden = manifest.goldenVector(file).orElse(null);
        double diff = Double.NaN;
        int rows = 0;
        String problem = "";
        Lock lock = lifecycle.readLock();
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("model is closed");
            }
            for (ArtifactFile f : manifest.files().values()) {
                ArtifactFiles.verify(ArtifactFiles.resolve(dir, f.name()), f);
                hashes.put(f.name(), f.sha256());
            }
            if (golden == null) {
                throw new ModelException(ModelException.Code.MANIFEST_INVALID, file, "manifest.json has no golden vectors for " + file);
            }
            diff = tokenizer == null ? replay(session, manifest, golden)
                    : replayText(session, manifest, tokenizer, golden);
            rows = golden.rows();
        } catch (RuntimeException e) {
            problem = e.getMessage() == null ? e.getClass().getName() : e.getMessage();
        } finally {
            lock.unlock();
        }
        return new SelfCheckReport(problem.isEmpty(), problem, manifest.jobId(), file, precision, hashes, rows,
                diff, golden == null ? Double.NaN : golden.atol(), System.getProperty("java.version"),
                onnxRuntimeVersion(), clientVersion(), start, Duration.ofNanos(System.nanoTime() - t0));
    }

    /** The ONNX Runtime Java version this JVM runs models with. */
    public static String onnxRuntimeVersion() {
        return OrtRuntime.environment().getVersion();
    }

    /** This client's version (the jar's Implementation-Version), or "unpackaged" from classes. */
    public static String clientVersion() {
        String version = DistilledModel.class.getPackage().getImplementationVersion();
        return version == null ? "unpackaged" : version;
    }

    /** Releases the ONNX Runtime session; waits for predictions in flight. Idempotent. */
    @Override
    public void close() {
        Lock lock = lifecycle.writeLock();
        lock.lock();
        try {
            if (!closed) {
                closed = true;
                closeQuietly(session);
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "DistilledModel{" + modelPath + ", " + precision + ", labels=" + labels() + "}";
    }

    private long[] batchShape(int batchSize) {
        TensorSpec input = manifest.input();
        if (!FLOAT32.equals(input.dtype())) {
            throw new UnsupportedOperationException("input dtype " + input.dtype() + " is not supported; only "
                    + FLOAT32 + " inputs can be predicted");
        }
        long[] shape = input.shapeArray();
        for (int i = 1; i < shape.length; i++) {
            if (shape[i] <= 0) {
                throw new UnsupportedOperationException("input shape " + input.shape()
                        + " has a dynamic axis besides the batch axis");
            }
        }
        shape[0] = batchSize;
        return shape;
    }

    private float[] flatten(float[][] batch, long[] shape) {
        int width = Math.toIntExact(Arrays.stream(shape, 1, shape.length).reduce(1, (a, b) -> a * b));
        float[] flat = new float[batch.length * width];
        for (int i = 0; i < batch.length; i++) {
            float[] row = Objects.requireNonNull(batch[i], "sample " + i);
            if (row.length != width) {
                throw new IllegalArgumentException("sample " + i + " has " + row.length + " values, expected " + width
                        + " (the product of input shape " + manifest.input().shape().subList(1, shape.length) + ")");
            }
            System.arraycopy(row, 0, flat, i * width, width);
        }
        return flat;
    }

    /** Runs {@code action} on the session unless the model is closed; close() waits for it. */
    private <T> T withSession(Function<OrtSession, T> action) {
        Lock lock = lifecycle.readLock();
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("model is closed");
            }
            return action.apply(session);
        } finally {
            lock.unlock();
        }
    }

    private List<Prediction> predictions(float[] logits, int rows) {
        int classes = logits.length / rows;
        List<Prediction> out = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            out.add(Prediction.fromLogits(Arrays.copyOfRange(logits, i * classes, (i + 1) * classes),
                    manifest.labels()));
        }
        return out;
    }

    /** Replays the golden vectors; returns the largest abs diff, or throws naming file and numbers. */
    private static double replay(OrtSession session, ArtifactManifest manifest, GoldenVector golden) {
        String file = golden.modelFile();
        if (!FLOAT32.equals(manifest.input().dtype()) || golden.isText()) {
            throw new UnsupportedOperationException("golden vectors of " + file + ": input dtype "
                    + manifest.input().dtype() + " is not supported; only " + FLOAT32);
        }
        return compareOutputs(golden, runFloat(session, manifest, golden.inputShapeView(), golden.inputView()));
    }

    /** Tokenizes the golden texts, checks the ids are Python's exactly, then replays the outputs. */
    private static double replayText(OrtSession session, ArtifactManifest manifest, Tokenizer tokenizer,
            GoldenVector golden) {
        if (!golden.isText()) {
            throw new ModelException(ModelException.Code.MANIFEST_INVALID, golden.modelFile(), "the golden vectors of "
                    + golden.modelFile() + " have no texts, but this is a text model");
        }
        TokenizedBatch batch = tokenizer.encodeBatch(golden.texts());
        TextArtifact.checkGoldenIds(golden, batch);
        return compareOutputs(golden, runText(session, manifest, batch));
    }

    private static double compareOutputs(GoldenVector golden, Outputs actual) {
        String file = golden.modelFile();
        float[] expected = golden.outputView();
        if (!Arrays.equals(actual.shape(), golden.outputShapeView()) || actual.values().length != expected.length) {
            throw new ModelException(ModelException.Code.GOLDEN_MISMATCH, file, "golden vector mismatch in " + file + ": output shape "
                    + Arrays.toString(actual.shape()) + ", expected " + Arrays.toString(golden.outputShapeView()));
        }
        double maxDiff = 0;
        int worst = 0;
        for (int i = 0; i < expected.length; i++) {
            double diff = absDiff(expected[i], actual.values()[i]);
            if (diff > maxDiff || Double.isNaN(diff)) {
                maxDiff = diff;
                worst = i;
            }
        }
        if (!(maxDiff <= golden.atol())) {
            throw new ModelException(ModelException.Code.GOLDEN_MISMATCH, file, String.format(java.util.Locale.ROOT,
                    "golden vector mismatch in %s: max abs diff %.6g > atol %.6g (output element %d: expected %s, got %s)",
                    file, maxDiff, golden.atol(), worst, expected[worst], actual.values()[worst]));
        }
        return maxDiff;
    }

    private static double absDiff(float expected, float actual) {
        if (Float.isNaN(expected) && Float.isNaN(actual)) {
            return 0;
        }
        if (expected == actual) {
            return 0; // same infinities
        }
        double diff = Math.abs((double) expected - (double) actual);
        return Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff;
    }

    /** The values and shape of the model's output for one input. */
    private record Outputs(float[] values, long[] shape) {
    }

    private static Outputs runFloat(OrtSession session, ArtifactManifest manifest, long[] shape, float[] data) {
        try (OnnxTensor tensor = OnnxTensor.createTensor(OrtRuntime.environment(), FloatBuffer.wrap(data),
                shape)) {
            return run(session, manifest, Map.of(manifest.input().name(), tensor));
        } catch (OrtException e) {
            throw runtimeFailure("ONNX Runtime failed to run the model on input shape " + Arrays.toString(shape), e);
        }
    }

    private static Outputs runText(OrtSession session, ArtifactManifest manifest, TokenizedBatch batch) {
        OrtEnvironment env = OrtRuntime.environment();
        long[] shape = batch.shape();
        try (OnnxTensor ids = OnnxTensor.createTensor(env, batch.idsBuffer(), shape);
                OnnxTensor mask = OnnxTensor.createTensor(env, batch.attentionMaskBuffer(), shape)) {
            return run(session, manifest, Map.of(TextArtifact.INPUT_IDS, ids, TextArtifact.ATTENTION_MASK, mask));
        } catch (OrtException e) {
            throw runtimeFailure("ONNX Runtime failed to run the model on token ids of shape "
                    + Arrays.toString(shape), e);
        }
    }

    private static Outputs run(OrtSession session, ArtifactManifest manifest, Map<String, OnnxTensor> feed)
            throws OrtException {
        String outputName = manifest.output().name();
        try (OrtSession.Result result = session.run(feed, Set.of(outputName))) {
            OnnxValue value = result.get(outputName).orElseThrow(() -> new ModelException(ModelException.Code.MODEL_LOAD_FAILED,
                    outputName, "the model has no output named '" + outputName + "'"));
            if (!(value instanceof OnnxTensor out)) {
                throw new ModelException(ModelException.Code.MODEL_LOAD_FAILED, outputName, "output '" + outputName + "' is not a tensor");
            }
            FloatBuffer buffer = out.getFloatBuffer();
            if (buffer == null) {
                throw new UnsupportedOperationException("output '" + outputName + "' is not float32");
            }
            float[] values = new float[buffer.remaining()];
            buffer.get(values);
            return new Outputs(values, out.getInfo().getShape());
        }
    }

    private static OrtSession createSession(Path modelPath, String file) {
        OrtEnvironment env = OrtRuntime.environment(); // first: it loads the native libraries
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            return env.createSession(modelPath.toString(), options);
        } catch (OrtException e) {
            throw new ModelException(ModelException.Code.MODEL_LOAD_FAILED, file, "ONNX Runtime cannot load " + file + ": " + e.getMessage(), e);
        }
    }

    private static ModelException runtimeFailure(String message, OrtException e) {
        return new ModelException(ModelException.Code.RUNTIME_FAILED, null, message + ": " + e.getMessage(), e);
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException e) {
            // nothing useful to do: the session is gone either way
        }
    }
}
