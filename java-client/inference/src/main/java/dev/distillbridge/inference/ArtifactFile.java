package dev.distillbridge.inference;

import java.util.Objects;

/**
 * One file of an artifact: its name inside the artifact directory, size and SHA-256 (hex).
 *
 * @param name file name, e.g. {@code model.int8.onnx}
 * @param sizeBytes size in bytes
 * @param sha256 lower-case hex SHA-256
 */
public record ArtifactFile(String name, long sizeBytes, String sha256) {
    public ArtifactFile {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(sha256, "sha256");
    }
}
