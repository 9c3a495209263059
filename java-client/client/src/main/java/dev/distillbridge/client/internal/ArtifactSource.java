package dev.distillbridge.client.internal;

import dev.distillbridge.inference.ArtifactFile;
import java.nio.file.Path;
import java.util.List;

/** Where a result's artifact files come from: the gRPC download, or a local debug server's disk. */
@FunctionalInterface
public interface ArtifactSource {
    /**
     * Puts every file into dir (created if needed), each checked against its size and SHA-256.
     *
     * @throws dev.distillbridge.client.ArtifactVerificationException when a file fails its check
     */
    Path download(List<ArtifactFile> files, String manifestJson, Path dir);
}
