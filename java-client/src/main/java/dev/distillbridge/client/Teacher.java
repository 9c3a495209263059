package dev.distillbridge.client;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * The teacher of a distillation: a zoo name or server-side path ({@link #of(String)}), a local
 * file or Hugging Face directory sent to the server before the job ({@link #upload(Path)}), or
 * an earlier upload ({@link #uploaded(String)}). Immutable.
 */
public final class Teacher {
    private final String reference;
    private final Path localFile;
    private final String uploadId;

    private Teacher(String reference, Path localFile, String uploadId) {
        this.reference = reference;
        this.localFile = localFile;
        this.uploadId = uploadId;
    }

    /** A zoo name (see {@link DistillBridge#listTeachers()}) or a path under the server's data root. */
    public static Teacher of(String zooNameOrServerPath) {
        Objects.requireNonNull(zooNameOrServerPath, "zooNameOrServerPath");
        return new Teacher(zooNameOrServerPath, null, null);
    }

    /**
     * A local TorchScript ({@code .pt}, {@code .ts}) or ONNX file, or a Hugging Face model
     * directory (zipped on the fly), uploaded in 256 KiB chunks when the job is submitted.
     */
    public static Teacher upload(Path localFileOrDirectory) {
        return new Teacher(null, Objects.requireNonNull(localFileOrDirectory, "localFileOrDirectory"), null);
    }

    /** A model already stored on the server under this upload id. */
    public static Teacher uploaded(String uploadId) {
        return new Teacher(null, null, Objects.requireNonNull(uploadId, "uploadId"));
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

    @Override
    public boolean equals(Object o) {
        return o instanceof Teacher t && Objects.equals(reference, t.reference)
                && Objects.equals(localFile, t.localFile) && Objects.equals(uploadId, t.uploadId);
    }

    @Override
    public int hashCode() {
        return Objects.hash(reference, localFile, uploadId);
    }

    @Override
    public String toString() {
        return reference != null ? "Teacher{" + reference + "}"
                : localFile != null ? "Teacher{upload " + localFile + "}" : "Teacher{upload id " + uploadId + "}";
    }
}
