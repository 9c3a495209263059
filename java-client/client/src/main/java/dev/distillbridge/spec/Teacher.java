package dev.distillbridge.spec;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * The teacher of a distillation: a zoo name or server-side path ({@link #of(String)}), a local
 * file or Hugging Face directory sent to the server before the job ({@link #upload(Path)}), or
 * an earlier upload ({@link #uploaded(String)}); for an ONNX file, optionally the output that
 * scores the classes ({@link #withOutput(String)}). Immutable.
 */
public final class Teacher {
    private final String reference;
    private final Path localFile;
    private final String uploadId;
    private final String output;

    private Teacher(String reference, Path localFile, String uploadId, String output) {
        this.reference = reference;
        this.localFile = localFile;
        this.uploadId = uploadId;
        this.output = output;
    }

    /** A zoo name (see {@link dev.distillbridge.client.DistillBridge#listTeachers()}) or a path under the server's data root. */
    public static Teacher of(String zooNameOrServerPath) {
        Objects.requireNonNull(zooNameOrServerPath, "zooNameOrServerPath");
        return new Teacher(zooNameOrServerPath, null, null, null);
    }

    /**
     * A local TorchScript ({@code .pt}, {@code .ts}) or ONNX file, or a Hugging Face model
     * directory (zipped on the fly), uploaded in 256 KiB chunks when the job is submitted.
     */
    public static Teacher upload(Path localFileOrDirectory) {
        return new Teacher(null, Objects.requireNonNull(localFileOrDirectory, "localFileOrDirectory"), null, null);
    }

    /** A model already stored on the server under this upload id. */
    public static Teacher uploaded(String uploadId) {
        return new Teacher(null, null, Objects.requireNonNull(uploadId, "uploadId"), null);
    }

    /**
     * A copy that takes the class scores from this output of an ONNX teacher, e.g.
     * {@code Teacher.of("model.onnx").withOutput("probabilities")} for a converted scikit-learn
     * model, instead of the output the server picks by type and shape. A ZipMap, or a name
     * containing "prob", is read as probabilities; any other float {@code [N, classes]} output
     * as logits. The server refuses a name the model does not have (listing its outputs), an
     * output that cannot score every class (such as {@code label}), and any teacher that is not
     * an ONNX file.
     *
     * @throws IllegalArgumentException when {@code outputName} is blank
     */
    public Teacher withOutput(String outputName) {
        Objects.requireNonNull(outputName, "outputName");
        if (outputName.isBlank()) {
            throw new IllegalArgumentException("outputName must not be blank");
        }
        return new Teacher(reference, localFile, uploadId, outputName);
    }

    /** The zoo name or server path, when this is one. */
    public Optional<String> reference() {
        return Optional.ofNullable(reference);
    }

    /** The local file to upload, when this is one. */
    public Optional<Path> localFile() {
        return Optional.ofNullable(localFile);
    }

    /** The server's upload id, when this is one. */
    public Optional<String> uploadId() {
        return Optional.ofNullable(uploadId);
    }

    /** The ONNX output named with {@link #withOutput(String)}, when one was. */
    public Optional<String> output() {
        return Optional.ofNullable(output);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Teacher t && Objects.equals(reference, t.reference)
                && Objects.equals(localFile, t.localFile) && Objects.equals(uploadId, t.uploadId)
                && Objects.equals(output, t.output);
    }

    @Override
    public int hashCode() {
        return Objects.hash(reference, localFile, uploadId, output);
    }

    @Override
    public String toString() {
        String source = reference != null ? reference
                : localFile != null ? "upload " + localFile : "upload id " + uploadId;
        return "Teacher{" + source + (output != null ? ", output=" + output : "") + "}";
    }
}
