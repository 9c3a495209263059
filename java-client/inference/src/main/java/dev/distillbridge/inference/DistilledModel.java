package dev.distillbridge.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.distillbridge.tokenizer.TokenizedBatch;
import dev.distillbridge.tokenizer.Tokenizer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

/**
 * A downloaded artifact, verified and opened with ONNX Runtime.
 *
 * <p>{@link #load(Path)} trusts nothing it has not checked: it reads manifest.json, checks the
 * size and SHA-256 of every file it lists, opens the model from the very bytes it hashed and
 * replays that model's golden vectors (inputs with the outputs Python's ONNX Runtime produced);
 * any mismatch is an {@link ModelException}, never a silently wrong answer. A mistake of the
 * caller (text for a numeric model, a sample of the wrong width) is an
 * {@link IllegalArgumentException} naming what was expected and what was given.
 * {@link #builder(Path)} chooses the precision and session options:
 *
 * <pre>{@code
 * DistilledModel model = DistilledModel.builder(dir)
 *         .precision(Precision.INT8).intraOpThreads(2).optimizationLevel(OptimizationLevel.ALL)
 *         .build();
 * }</pre>
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
    private static final int REUSED_INPUT_MAX_BYTES = 256 << 10;
    private static final ThreadLocal<ByteBuffer> INPUT_BUFFER = new ThreadLocal<>();

    private final Path dir;
    private final ArtifactManifest manifest;
    private final Precision precision;
    private final Path modelPath;
    private final OrtSession session;
    /** The text model's tokenizer; null for numeric models. */
    private final Tokenizer tokenizer;
    private final double maxGoldenDiff;
    private final LoadTimings loadTimings;
    private final boolean verifiedByRecord;
    /** Values per sample: product(input.shape[1:]); -1 when an axis besides the batch is dynamic. */
    private final int width;
    /** input.shape, read once (the manifest's list is boxed); copied per call. */
    private final long[] inputShape;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    private DistilledModel(Path dir, ArtifactManifest manifest, Precision precision, Path modelPath,
            OrtSession session, Tokenizer tokenizer, double maxGoldenDiff, LoadTimings loadTimings,
            boolean verifiedByRecord) {
        this.dir = dir;
        this.manifest = manifest;
        this.precision = precision;
        this.modelPath = modelPath;
        this.session = session;
        this.tokenizer = tokenizer;
        this.maxGoldenDiff = maxGoldenDiff;
        this.loadTimings = loadTimings;
        this.verifiedByRecord = verifiedByRecord;
        long[] shape = manifest.input().shapeArray();
        this.inputShape = shape.clone();
        long product = 1;
        for (int i = 1; i < shape.length; i++) {
            product = shape[i] > 0 && product > 0 ? product * shape[i] : -1;
        }
        this.width = product > Integer.MAX_VALUE ? -1 : (int) product;
    }

    /**
     * Verifies and opens the artifact in {@code dir}: the INT8 model when the artifact has one,
     * else the fp32 model, with ONNX Runtime's default session options. Short for
     * {@code builder(dir).build()}.
     *
     * @throws ModelException when a file's size or SHA-256 ({@code SIZE_MISMATCH},
     *     {@code HASH_MISMATCH}), or a golden vector (for text: the token ids too;
     *     {@code GOLDEN_MISMATCH}) does not match, or the manifest or a text model's tokenizer
     *     cannot be read, or ONNX Runtime cannot load the model ({@code MODEL_LOAD_FAILED})
     */
    public static DistilledModel load(Path dir) {
        return builder(dir).build();
    }

    /**
     * Verifies and opens the model of the given precision; short for
     * {@code builder(dir).precision(precision).build()}.
     *
     * @throws IllegalArgumentException when the artifact has no model of that precision
     * @throws ModelException as {@link #load(Path)}
     */
    public static DistilledModel load(Path dir, Precision precision) {
        return builder(dir).precision(Objects.requireNonNull(precision, "precision")).build();
    }

    /** A builder for the artifact in {@code dir}: precision and session options, checked at {@link Builder#build()}. */
    public static Builder builder(Path dir) {
        return new Builder(Objects.requireNonNull(dir, "dir"));
    }

    /**
     * How to open an artifact. Unset options keep ONNX Runtime's defaults (intra-op threads: one
     * per core; optimization level {@link OptimizationLevel#ALL}); the precision defaults to INT8
     * when the artifact has it, else FP32. Not thread-safe; {@link #build()} may be called again.
     */
    public static final class Builder {
        private final Path dir;
        private Precision precision;
        private int intraOpThreads;
        private boolean intraOpThreadsSet;
        private OptimizationLevel optimizationLevel = OptimizationLevel.ALL;
        private VerificationRecords records;

        private Builder(Path dir) {
            this.dir = dir;
        }

        /** The model to open; the artifact must have it (checked at build). */
        public Builder precision(Precision precision) {
            this.precision = Objects.requireNonNull(precision, "precision");
            return this;
        }

        /** Threads ONNX Runtime uses within one operator; 1 or more (checked at build). */
        public Builder intraOpThreads(int threads) {
            this.intraOpThreads = threads;
            this.intraOpThreadsSet = true;
            return this;
        }

        /** How much ONNX Runtime optimizes the graph when it opens it. */
        public Builder optimizationLevel(OptimizationLevel level) {
            this.optimizationLevel = Objects.requireNonNull(level, "optimizationLevel");
            return this;
        }

        /**
         * Where records of verified files live (see the package documentation): a later load of
         * the same, unchanged model or tokenizer file trusts the SHA-256 check recorded there
         * instead of hashing the file again. Default: {@code -Ddistillbridge.verification.cache},
         * else {@code ~/.cache/distill-bridge/verified}.
         */
        public Builder verificationCache(Path directory) {
            this.records = VerificationRecords.at(Objects.requireNonNull(directory, "directory"));
            return this;
        }

        /** Hash every file the session reads at every load, trusting no record of an earlier check. */
        public Builder hashEveryLoad() {
            this.records = VerificationRecords.off();
            return this;
        }

        /**
         * Checks the options, then verifies and opens the model as {@link DistilledModel#load(Path)}.
         *
         * @throws IllegalArgumentException for intra-op threads below 1, or a precision the
         *     artifact does not have
         * @throws ModelException as {@link DistilledModel#load(Path)}
         */
        public DistilledModel build() {
            if (intraOpThreadsSet && intraOpThreads < 1) {
                throw new IllegalArgumentException("intraOpThreads must be 1 or more, got " + intraOpThreads
                        + " (leave it unset for ONNX Runtime's default, one per core)");
            }
            return open(this, records != null ? records : VerificationRecords.fromSystemProperty());
        }
    }

    private static DistilledModel open(Builder options, VerificationRecords records) {
        long t0 = System.nanoTime();
        boolean startsRuntime = OrtRuntime.startInBackground(); // native libraries load while we hash
        Path dir = options.dir;
        ArtifactManifest manifest = ArtifactManifest.read(dir);
        Precision precision = options.precision != null ? options.precision
                : manifest.modelFile(Precision.INT8).isPresent() ? Precision.INT8 : Precision.FP32;
        // No lambdas or streams on the load path: each is a class spun at first use, which a
        // cold start pays for (ifs instead of orElseThrow(() -> ...)).
        Optional<String> modelFile = manifest.modelFile(precision);
        if (modelFile.isEmpty()) {
            throw new IllegalArgumentException("the artifact in " + dir + " has no " + precision + " model (models."
                    + precision.manifestKey() + " is absent)");
        }
        String file = modelFile.get();
        ArtifactFile listed = manifest.files().get(file);
        if (listed == null) {
            throw new ModelException(ModelException.Code.MANIFEST_INVALID, file,
                    file + " is not listed under files in manifest.json, so its SHA-256 cannot be checked");
        }
        GoldenVector golden = manifest.goldenVector(file).orElse(null);
        if (golden == null) {
            throw new ModelException(ModelException.Code.MANIFEST_INVALID, file,
                    "manifest.json has no golden vectors for " + file + ", so its outputs cannot be checked");
        }
        Path modelPath = ArtifactFiles.resolve(dir, file);
        // Every file must be there at its size; the files this session reads are hashed (an
        // INT8 load skips hashing the fp32 model; selfCheck() hashes everything). The model is
        // read once: ONNX Runtime parses those bytes while another thread hashes them, and the
        // model is returned only once they match the manifest.
        // A text model's tokenizer is read, hashed and parsed on its own thread meanwhile.
        if (manifest.isText()) {
            TextArtifact.checkInputs(manifest);
        }
        // That thread also tokenizes the golden texts and checks the ids against Python's (pure
        // Java, the tokenizer's first, interpreted run): done while this thread opens the session.
        CompletableFuture<TextGolden> tokenizer = manifest.isText()
                ? loadTokenizer(dir, manifest, golden, records)
                : CompletableFuture.completedFuture(null);
        String tokenizerFile = manifest.tokenizer().isPresent() ? manifest.tokenizer().get().file() : null;
        Map<String, ArtifactFile> used = manifest.filesUsedBy(file);
        VerificationRecords.Read model;
        try {
            for (ArtifactFile f : manifest.files().values()) {
                Path path = ArtifactFiles.resolve(dir, f.name());
                boolean readElsewhere = f.name().equals(file) || f.name().equals(tokenizerFile);
                if (used.containsKey(f.name()) && !readElsewhere) {
                    ArtifactFiles.verify(path, f);
                } else {
                    ArtifactFiles.verifyPresence(path, f);
                }
            }
            model = records.read(modelPath, listed);
        } catch (RuntimeException e) {
            tokenizer.cancel(false);
            throw e;
        }
        CompletableFuture<Void> modelHash = model.vouched() ? CompletableFuture.completedFuture(null)
                : checkInBackground(records, model, listed);
        long t1 = System.nanoTime();
        OrtRuntime.Started runtime = OrtRuntime.started();
        long t2 = System.nanoTime();
        OrtSession session;
        try {
            session = createSession(model.bytes(), file, options);
        } catch (RuntimeException e) {
            join(modelHash); // a file that does not match says so, not what ONNX Runtime made of it
            throw e;
        }
        long t3 = System.nanoTime();
        try {
            join(modelHash);
            TextGolden text = join(tokenizer);
            Tokenizer loaded = text == null ? null : text.tokenizer();
            double diff = text == null ? replay(session, manifest, golden)
                    : compareOutputs(golden, runText(session, manifest, text.batch()));
            long t4 = System.nanoTime();
            LoadTimings timings = new LoadTimings(Duration.ofNanos(t1 - t0), Duration.ofNanos(t2 - t1),
                    Duration.ofNanos(t3 - t2), Duration.ofNanos(t4 - t3), Duration.ofNanos(t4 - t0),
                    startsRuntime ? runtime.took() : Duration.ZERO);
            return new DistilledModel(dir, manifest, precision, modelPath, session, loaded, diff, timings,
                    model.vouched());
        } catch (RuntimeException e) {
            closeQuietly(session);
            throw e;
        }
    }

    /**
     * Predicts one sample: its features flattened row-major, {@code product(input.shape[1:])}
     * values (e.g. 20 for a {@code [-1, 20]} tabular model, 784 for {@code [-1, 1, 28, 28]}).
     *
     * @throws IllegalArgumentException when the length is wrong, or this is a text model
     */
    public Prediction predict(float[] sample) {
        Objects.requireNonNull(sample, "sample");
        return predict(new float[][] {sample}).get(0);
    }

    /**
     * Predicts a batch of samples in one run; see {@link #predict(float[])}. The result is backed
     * by one copy of the model's output: no per-row objects unless asked for.
     *
     * @throws IllegalArgumentException when a sample's length is wrong, or this is a text model
     *     (use {@link #predict(List)})
     */
    public Predictions predict(float[][] batch) {
        Objects.requireNonNull(batch, "batch");
        if (tokenizer != null) {
            throw new IllegalArgumentException("this is a text model (manifest modality \"text\", inputs "
                    + TextArtifact.INPUT_IDS + " and " + TextArtifact.ATTENTION_MASK + "): it expects text, "
                    + "via predict(String) or predict(List<String>), but was given " + describe(batch));
        }
        if (batch.length == 0) {
            return Predictions.empty();
        }
        long[] shape = batchShape(batch.length);
        FloatBuffer input = directInput(batch, shape);
        return withSession(s -> predictions(runFloat(s, manifest, shape, input), batch.length));
    }

    /**
     * Predicts one raw text (text models): tokenized in this JVM with the artifact's tokenizer,
     * truncated to the manifest's {@code max_length} tokens.
     *
     * @throws IllegalArgumentException when this is not a text model
     */
    public Prediction predict(String text) {
        return predict(List.of(Objects.requireNonNull(text, "text"))).get(0);
    }

    /**
     * Predicts a batch of raw texts in one run, padded to the longest; each row's answer is the
     * one {@link #predict(String)} gives for that text (up to floating-point rounding).
     *
     * @throws IllegalArgumentException when this is not a text model
     */
    public Predictions predict(List<String> texts) {
        Objects.requireNonNull(texts, "texts");
        if (tokenizer == null) {
            throw new IllegalArgumentException("this model's modality is \"" + manifest.modality() + "\": it expects "
                    + width() + " float features per sample (input shape " + manifest.input().shape()
                    + ") via predict(float[]) or predict(float[][]), but was given " + texts.size()
                    + (texts.size() == 1 ? " text" : " texts"));
        }
        if (texts.isEmpty()) {
            return Predictions.empty();
        }
        TokenizedBatch batch = tokenizer.encodeBatch(texts);
        Lock lock = lifecycle.readLock(); // as withSession, without a lambda (see open)
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("model is closed");
            }
            return predictions(runText(session, manifest, batch), batch.rows());
        } finally {
            lock.unlock();
        }
    }

    /** Where this model's load spent its time (verification, runtime start, session, golden replay). */
    public LoadTimings loadTimings() {
        return loadTimings;
    }

    /**
     * True when this load trusted a record of an earlier SHA-256 check of the unchanged model file
     * (same identity, same CRC-32C; see the package documentation) instead of hashing it again;
     * false when it hashed the model.
     */
    public boolean verifiedByRecord() {
        return verifiedByRecord;
    }

    /**
     * Starts ONNX Runtime now (its native libraries, from the verified cache; see the package
     * documentation) and waits for it, so that a later {@link #load(Path)} does not pay for it,
     * e.g. at application start. Idempotent; {@link #load(Path)} starts it anyway.
     *
     * @return how long the start took, or zero when it had started before
     * @throws ModelException ({@code RUNTIME_FAILED}) when ONNX Runtime cannot start
     */
    public static Duration startRuntime() {
        boolean begins = OrtRuntime.startInBackground();
        Duration took = OrtRuntime.started().took();
        return begins ? took : Duration.ZERO;
    }

    /**
     * The directory ONNX Runtime loaded its native libraries from when this library's verified
     * cache supplied them; empty when ONNX Runtime extracted them itself (cache off, or
     * {@code onnxruntime.native.path} set by the application), or it has not started.
     */
    public static Optional<Path> nativeLibraryDirectory() {
        return OrtRuntime.startedIfDone().flatMap(OrtRuntime.Started::nativeDirectory);
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
        return inputShape.clone();
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

    /** [batchSize, input.shape[1:]...], checked once per call without allocating beyond it. */
    private long[] batchShape(int batchSize) {
        TensorSpec input = manifest.input();
        if (!FLOAT32.equals(input.dtype())) {
            throw new UnsupportedOperationException("input dtype " + input.dtype() + " is not supported; only "
                    + FLOAT32 + " inputs can be predicted");
        }
        if (width < 0) {
            throw new UnsupportedOperationException("input shape " + input.shape()
                    + " has a dynamic axis besides the batch axis");
        }
        long[] shape = inputShape.clone();
        shape[0] = batchSize;
        return shape;
    }

    private int width() {
        return width;
    }

    /**
     * The rows, checked, written straight into the direct buffer ONNX Runtime reads (one copy;
     * handing ORT a heap array measured slower: it allocates and copies into a direct buffer itself).
     */
    private FloatBuffer directInput(float[][] batch, long[] shape) {
        int width = width();
        FloatBuffer flat = inputBuffer(batch.length * width);
        for (int i = 0; i < batch.length; i++) {
            float[] row = Objects.requireNonNull(batch[i], "sample " + i);
            if (row.length != width) {
                throw new IllegalArgumentException("sample " + i + " has " + row.length + " values, expected " + width
                        + " (the product of input shape " + manifest.input().shape().subList(1, shape.length) + ")");
            }
            flat.put(row);
        }
        return flat.flip();
    }

    /**
     * A direct buffer of {@code floats} values for this call's input: the calling thread's own,
     * reused from call to call (a call is synchronous and ORT is done with the buffer when it
     * returns), which saves allocating, zeroing and registering a cleaner per call; batches over
     * {@link #REUSED_INPUT_MAX_BYTES} get a buffer of their own, so no thread keeps a large one.
     */
    private static FloatBuffer inputBuffer(int floats) {
        int bytes = Math.multiplyExact(floats, Float.BYTES);
        if (bytes > REUSED_INPUT_MAX_BYTES) {
            return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
        }
        ByteBuffer buffer = INPUT_BUFFER.get();
        if (buffer == null || buffer.capacity() < bytes) {
            buffer = ByteBuffer.allocateDirect(Math.max(bytes, 4096)).order(ByteOrder.nativeOrder());
            INPUT_BUFFER.set(buffer);
        }
        buffer.clear().limit(bytes);
        return buffer.asFloatBuffer();
    }

    private static String describe(float[][] batch) {
        if (batch.length == 1 && batch[0] != null) {
            return "a sample of " + batch[0].length + " float features";
        }
        return "a batch of " + batch.length + " float samples";
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

    private Predictions predictions(Outputs out, int rows) {
        long[] shape = out.shape();
        if (shape.length != 2 || shape[0] != rows || (long) rows * shape[1] != out.values().length) {
            throw new ModelException(ModelException.Code.RUNTIME_FAILED, modelPath.getFileName().toString(),
                    "output '" + manifest.output().name() + "' has shape " + Arrays.toString(shape) + ", expected ["
                            + rows + ", classes]");
        }
        return new Predictions(out.values(), rows, (int) shape[1], manifest.labels());
    }

    /** Replays the golden vectors; returns the largest abs diff, or throws naming file and numbers. */
    private static double replay(OrtSession session, ArtifactManifest manifest, GoldenVector golden) {
        String file = golden.modelFile();
        if (!FLOAT32.equals(manifest.input().dtype()) || golden.isText()) {
            throw new UnsupportedOperationException("golden vectors of " + file + ": input dtype "
                    + manifest.input().dtype() + " is not supported; only " + FLOAT32);
        }
        return compareOutputs(golden, runFloat(session, manifest, golden.inputShapeView(),
                FloatBuffer.wrap(golden.inputView())));
    }

    /** Tokenizes the golden texts, checks the ids are Python's exactly, then replays the outputs. */
    private static double replayText(OrtSession session, ArtifactManifest manifest, Tokenizer tokenizer,
            GoldenVector golden) {
        return compareOutputs(golden, runText(session, manifest, TextGolden.of(tokenizer, golden).batch()));
    }

    /** A text model's tokenizer and its golden texts' batch, whose ids matched Python's exactly. */
    private record TextGolden(Tokenizer tokenizer, TokenizedBatch batch) {
        static TextGolden of(Tokenizer tokenizer, GoldenVector golden) {
            if (!golden.isText()) {
                throw new ModelException(ModelException.Code.MANIFEST_INVALID, golden.modelFile(), "the golden vectors of "
                        + golden.modelFile() + " have no texts, but this is a text model");
            }
            TokenizedBatch batch = tokenizer.encodeBatch(golden.texts());
            TextArtifact.checkGoldenIds(golden, batch);
            return new TextGolden(tokenizer, batch);
        }
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

    private static Outputs runFloat(OrtSession session, ArtifactManifest manifest, long[] shape, FloatBuffer data) {
        try (OnnxTensor tensor = OnnxTensor.createTensor(OrtRuntime.environment(), data, shape)) {
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
            OnnxValue value = result.get(outputName).orElse(null);
            if (value == null) {
                throw new ModelException(ModelException.Code.MODEL_LOAD_FAILED, outputName,
                        "the model has no output named '" + outputName + "'");
            }
            if (!(value instanceof OnnxTensor out)) {
                throw new ModelException(ModelException.Code.MODEL_LOAD_FAILED, outputName, "output '" + outputName + "' is not a tensor");
            }
            FloatBuffer buffer = out.getFloatBuffer();
            if (buffer == null) {
                throw new UnsupportedOperationException("output '" + outputName + "' is not float32");
            }
            return new Outputs(ownedArray(buffer), out.getInfo().getShape());
        }
    }

    /**
     * The buffer's values as an array this class owns: ORT Java's getFloatBuffer() already copied
     * the output into a fresh heap buffer, so its backing array is taken as is (no second copy).
     */
    private static float[] ownedArray(FloatBuffer buffer) {
        if (buffer.hasArray() && buffer.arrayOffset() == 0 && buffer.position() == 0
                && buffer.remaining() == buffer.array().length) {
            return buffer.array();
        }
        float[] values = new float[buffer.remaining()];
        buffer.get(values);
        return values;
    }

    /**
     * Reads, hashes and parses the tokenizer, then tokenizes the golden texts and checks their
     * ids, on a daemon thread of its own; the future fails with what that threw.
     */
    private static CompletableFuture<TextGolden> loadTokenizer(Path dir, ArtifactManifest manifest, GoldenVector golden,
            VerificationRecords records) {
        return onOwnThread("distill-bridge-tokenizer-load", new Callable<TextGolden>() { // not a lambda (see open)
            @Override
            public TextGolden call() {
                return TextGolden.of(TextArtifact.tokenizer(dir, manifest, records), golden);
            }
        });
    }

    /** The model's bytes checked against the manifest's SHA-256 (and recorded) on a thread of its own. */
    private static CompletableFuture<Void> checkInBackground(VerificationRecords records, VerificationRecords.Read model,
            ArtifactFile listed) {
        return onOwnThread("distill-bridge-model-hash", new Callable<Void>() {
            @Override
            public Void call() {
                records.confirm(model, listed);
                return null;
            }
        });
    }

    /** Runs {@code work} on a new daemon thread; its result or exception completes the future. */
    private static <T> CompletableFuture<T> onOwnThread(String name, Callable<T> work) {
        CompletableFuture<T> future = new CompletableFuture<>();
        Runnable task = new Runnable() {
            @Override
            public void run() {
                try {
                    future.complete(work.call());
                } catch (Throwable e) { // handed to the loading thread
                    future.completeExceptionally(e);
                }
            }
        };
        Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        thread.start();
        return future;
    }

    /** The future's value; its own exception (a ModelException) as it was thrown. */
    private static <T> T join(CompletableFuture<T> future) {
        try {
            return future.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw e;
        }
    }

    /** A session on the verified bytes (not the path: the file could change after it was hashed). */
    private static OrtSession createSession(byte[] model, String file, Builder settings) {
        OrtEnvironment env = OrtRuntime.environment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(settings.optimizationLevel.ort());
            if (settings.intraOpThreadsSet) {
                options.setIntraOpNumThreads(settings.intraOpThreads);
            }
            return env.createSession(model, options);
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
