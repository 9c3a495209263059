package dev.distillbridge.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.distillbridge.inference.ArtifactManifest;
import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.Precision;
import dev.distillbridge.inference.TokenizerSpec;
import dev.distillbridge.tokenizer.TokenizedBatch;
import dev.distillbridge.tokenizer.Tokenizer;
import dev.distillbridge.tokenizer.WordPieceTokenizer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * One way of running a model from Java, behind one call: the client's {@link DistilledModel}
 * ({@code wrapper}), or ONNX Runtime Java used directly ({@code raw}: the ids the client's
 * tokenizer gave, computed before timing; {@code raw-tokenize}: the same tokenizer called inside
 * each call, i.e. what a user without the wrapper would run). Every engine creates its input
 * tensors, runs the session and copies the logits out on each call; the wrapper also computes its
 * {@code Prediction}s, which is part of what it costs.
 */
public sealed interface Engine extends AutoCloseable {
    String WRAPPER = "wrapper";
    String RAW = "raw";
    String RAW_TOKENIZE = "raw-tokenize";

    /** What to open: an artifact directory for the wrapper, an ONNX file (+ tokenizer for text) for raw. */
    record Spec(String kind, Path model, Path tokenizer, int maxLength) {
        public Spec {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(model, "model");
            if (!kind.equals(WRAPPER) && !kind.equals(RAW) && !kind.equals(RAW_TOKENIZE)) {
                throw new IllegalArgumentException("engine kind is wrapper, raw or raw-tokenize, not " + kind);
            }
            if (kind.equals(RAW_TOKENIZE) && tokenizer == null) {
                throw new IllegalArgumentException("raw-tokenize needs a tokenizer");
            }
        }

        /** The artifact's INT8 model (and its tokenizer, for text) run the given way. */
        public static Spec forArtifact(String kind, Path dir) {
            if (kind.equals(WRAPPER)) {
                return new Spec(kind, dir, null, 0);
            }
            ArtifactManifest manifest = ArtifactManifest.read(dir);
            Path model = dir.resolve(manifest.modelFile(Precision.INT8).orElseThrow());
            TokenizerSpec t = manifest.tokenizer().orElse(null);
            return t == null ? new Spec(kind, model, null, 0)
                    : new Spec(kind, model, dir.resolve(t.file()), t.maxLength());
        }
    }

    /** The tokenizer whose ids requests must carry; null when calls take floats or raw texts. */
    Tokenizer requestTokenizer();

    /** The tokenizer this engine's text calls use (inside or before the call); null for numeric models. */
    Tokenizer tokenizer();

    /** One prediction call; returns a value of the output so the work cannot be optimised away. */
    float call(Request request);

    @Override
    void close();

    static Engine open(Spec spec) {
        if (spec.kind().equals(WRAPPER)) {
            return new Wrapper(DistilledModel.load(spec.model()));
        }
        Tokenizer tokenizer = spec.tokenizer() == null ? null
                : WordPieceTokenizer.load(spec.tokenizer(), spec.maxLength());
        return new Raw(spec.model(), tokenizer, spec.kind().equals(RAW_TOKENIZE));
    }

    /** The client's DistilledModel: predict(float[][]) or predict(List<String>). */
    final class Wrapper implements Engine {
        private final DistilledModel model;

        Wrapper(DistilledModel model) {
            this.model = model;
        }

        DistilledModel model() {
            return model;
        }

        @Override
        public Tokenizer requestTokenizer() {
            return null;
        }

        @Override
        public Tokenizer tokenizer() {
            return model.tokenizer().orElse(null);
        }

        @Override
        public float call(Request r) {
            var predictions = r.texts() != null ? model.predict(r.texts()) : model.predict(r.floats());
            return predictions.confidence(0); // no per-row object: what a batch caller reads
        }

        @Override
        public void close() {
            model.close();
        }
    }

    /** A plain OrtSession with default options, as DistilledModel opens it. */
    final class Raw implements Engine {
        private final OrtEnvironment env = OrtEnvironment.getEnvironment();
        private final OrtSession session;
        private final String firstInput;
        private final Tokenizer tokenizer;
        private final boolean tokenizeInCall;

        Raw(Path model, Tokenizer tokenizer, boolean tokenizeInCall) {
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                this.session = env.createSession(model.toString(), options);
                this.firstInput = session.getInputNames().iterator().next();
            } catch (OrtException e) {
                throw new IllegalStateException("cannot open " + model + ": " + e.getMessage(), e);
            }
            this.tokenizer = tokenizer;
            this.tokenizeInCall = tokenizeInCall;
        }

        @Override
        public Tokenizer requestTokenizer() {
            return tokenizeInCall ? null : tokenizer;
        }

        @Override
        public Tokenizer tokenizer() {
            return tokenizer;
        }

        @Override
        public float call(Request r) {
            try {
                if (r.texts() == null) {
                    try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(r.flat()), r.shape())) {
                        return run(Map.of(firstInput, x));
                    }
                }
                long[] ids = r.ids();
                long[] mask = r.mask();
                long[] shape = r.shape();
                if (tokenizeInCall) {
                    TokenizedBatch b = tokenizer.encodeBatch(r.texts());
                    ids = b.ids();
                    mask = b.attentionMask();
                    shape = b.shape();
                }
                try (OnnxTensor i = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
                        OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape)) {
                    return run(Map.of("input_ids", i, "attention_mask", m));
                }
            } catch (OrtException e) {
                throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
            }
        }

        private float run(Map<String, OnnxTensor> feed) throws OrtException {
            try (OrtSession.Result result = session.run(feed)) {
                FloatBuffer out = ((OnnxTensor) result.get(0)).getFloatBuffer();
                float[] logits = new float[out.remaining()];
                out.get(logits);
                return logits[0];
            }
        }

        @Override
        public void close() {
            try {
                session.close();
            } catch (OrtException e) {
                // the session is gone either way
            }
        }
    }
}
