package dev.distillbridge.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ArtifactFiles#readVerified}: one read, and those bytes are what is checked. */
class ArtifactFilesTest {
    @TempDir
    Path dir;

    @Test
    void returnsTheBytesItHashed() throws IOException {
        byte[] content = "model bytes".getBytes(StandardCharsets.UTF_8);
        Path file = Files.write(dir.resolve("model.onnx"), content);
        ArtifactFile listed = new ArtifactFile("model.onnx", content.length, ArtifactFiles.sha256(file));
        assertArrayEquals(content, ArtifactFiles.readVerified(file, listed));
    }

    @Test
    void refusesBytesThatDoNotMatchTheManifest() throws IOException {
        Path file = Files.write(dir.resolve("model.onnx"), "model bytes".getBytes(StandardCharsets.UTF_8));
        String sha = ArtifactFiles.sha256(file);
        Files.write(file, "model bytez".getBytes(StandardCharsets.UTF_8)); // same size
        ModelException e = assertThrows(ModelException.class,
                () -> ArtifactFiles.readVerified(file, new ArtifactFile("model.onnx", 11, sha)));
        assertEquals(ModelException.Code.HASH_MISMATCH, e.code());
        assertTrue(e.getMessage().contains("expected " + sha), e.getMessage());
        ModelException size = assertThrows(ModelException.class,
                () -> ArtifactFiles.readVerified(file, new ArtifactFile("model.onnx", 12, sha)));
        assertEquals(ModelException.Code.SIZE_MISMATCH, size.code());
    }
}
