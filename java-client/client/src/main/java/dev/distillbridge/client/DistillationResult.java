package dev.distillbridge.client;

import dev.distillbridge.client.internal.ArtifactSource;
import dev.distillbridge.inference.ArtifactFile;
import dev.distillbridge.inference.ArtifactManifest;
import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.JvmCheck;
import dev.distillbridge.inference.ModelException;
import dev.distillbridge.inference.OnnxOperator;
import dev.distillbridge.proto.v1.DistillResult;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.TreeMap;

/**
 * The outcome of a successful job: its metrics, its manifest and the files of its verified
 * artifact, which {@link #download(Path)} fetches. Immutable and thread-safe; it keeps a
 * reference to the connection it came from, so download before closing the
 * {@link DistillBridge}.
 */
public final class DistillationResult {
    private final String jobId;
    private final Map<String, Double> metrics;
    private final String manifestJson;
    private final List<ArtifactFile> files;
    private final ArtifactSource source;
    private final MlflowRun mlflowRun;
    private volatile ArtifactManifest manifest;

    private DistillationResult(String jobId, Map<String, Double> metrics, String manifestJson,
            List<ArtifactFile> files, ArtifactSource source, MlflowRun mlflowRun) {
        this.jobId = jobId;
        this.metrics = Collections.unmodifiableMap(new TreeMap<>(metrics));
        this.manifestJson = manifestJson;
        this.files = List.copyOf(files);
        this.source = source;
        this.mlflowRun = mlflowRun;
    }

    static DistillationResult fromProto(String jobId, DistillResult result, ArtifactSource source) {
        return new DistillationResult(jobId, result.getMetricsMap(), result.getManifestJson(),
                result.getFilesList().stream()
                        .map(f -> new ArtifactFile(f.getName(), f.getSizeBytes(), f.getSha256())).toList(),
                source, null);
    }

    /** This result with the job's MLflow run (the latest its events or GetJob reported). */
    DistillationResult withMlflowRun(MlflowRun run) {
        return new DistillationResult(jobId, metrics, manifestJson, files, source, run);
    }

    /**
     * Where the job is recorded in MLflow, on a server with {@code --mlflow-tracking-uri}: the
     * run, and the registered model version the artifact became; empty when the server does
     * not track jobs (or its tracking server failed before the run existed).
     */
    public Optional<MlflowRun> mlflowRun() {
        return Optional.ofNullable(mlflowRun);
    }

    /** The server's id of the job that produced this result. */
    public String jobId() {
        return jobId;
    }

    /**
     * Test accuracies, retention, sizes, parameter counts and latencies, sorted by name, e.g.
     * {@code student_int8_accuracy}, {@code compression_ratio}. Unmodifiable.
     */
    public Map<String, Double> metrics() {
        return metrics;
    }

    /** One metric, when the server reported it. */
    public OptionalDouble metric(String name) {
        Double value = metrics.get(Objects.requireNonNull(name, "name"));
        return value == null ? OptionalDouble.empty() : OptionalDouble.of(value);
    }

    /** The artifact's manifest.json, verbatim. */
    public String manifestJson() {
        return manifestJson;
    }

    /**
     * The manifest, parsed.
     *
     * @throws ArtifactVerificationException when the server's manifest cannot be read
     */
    public ArtifactManifest manifest() {
        ArtifactManifest parsed = manifest;
        if (parsed == null) {
            try {
                parsed = ArtifactManifest.parse(manifestJson);
            } catch (ModelException e) {
                throw ArtifactVerificationException.of(e, jobId);
            }
            manifest = parsed;
        }
        return parsed;
    }

    /**
     * The server's in-JVM check of the artifact ({@code jvm_parity_max_abs_diff} is also in
     * {@link #metrics()} when it passed).
     */
    public java.util.Optional<JvmCheck> jvmCheck() {
        return manifest().jvmCheck();
    }

    /** The ONNX operators of each model file, each checked against ONNX Runtime's CPU provider. */
    public Map<String, List<OnnxOperator>> operators() {
        return manifest().operators();
    }

    /** True when INT8 failed its gate and, as {@link dev.distillbridge.spec.Gates#setFp32Fallback} allowed, only fp32 shipped. */
    public boolean int8Fallback() {
        return metric("int8_fallback").orElse(0) > 0;
    }

    /** Every downloadable file, manifest.json included, with size and SHA-256. */
    public List<ArtifactFile> files() {
        return files;
    }

    /**
     * Downloads every file of the artifact into {@code dir} (created if needed) and returns it,
     * ready for {@link DistilledModel#load(Path)}. Each file is streamed into
     * {@code <name>.part}, resumed from where it stopped if the stream breaks, checked against
     * its size and SHA-256, and only then renamed into place. Files already present with the
     * right hash are not fetched again. Do not run two downloads into the same directory at
     * once.
     *
     * @throws ArtifactVerificationException (DATA_LOSS) when a file does not match its hash
     * @throws DistillException when the server fails the download
     */
    public Path download(Path dir) {
        return source.download(files, manifestJson, Objects.requireNonNull(dir, "dir"));
    }

    @Override
    public String toString() {
        return "DistillationResult{jobId=" + jobId + ", metrics=" + metrics + ", files="
                + files.stream().map(ArtifactFile::name).toList() + "}";
    }
}
