package dev.distillbridge.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A load trusts a record of an earlier SHA-256 check only for the very file it was made for,
 * unchanged: the same identity and the same CRC-32C of the bytes read. Everything else hashes.
 */
class VerificationRecordsTest {
    private static final String INT8 = "model.int8.onnx";
    private static final float[] SAMPLE = {5.1f, 3.5f, 1.4f, 0.2f};

    @TempDir
    Path tmp;
    private Path artifact;
    private Path records;

    @BeforeEach
    void copyTheFixture() throws IOException {
        artifact = Files.createDirectories(tmp.resolve("artifact"));
        try (Stream<Path> files = Files.list(DistilledModelTest.FIXTURE)) {
            for (Path f : files.toList()) {
                Files.copy(f, artifact.resolve(f.getFileName().toString()));
            }
        }
        records = tmp.resolve("records");
    }

    private DistilledModel load() {
        return DistilledModel.builder(artifact).verificationCache(records).build();
    }

    private List<Path> recordFiles() throws IOException {
        if (!Files.isDirectory(records)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(records)) {
            return files.toList();
        }
    }

    @Test
    void theFirstLoadHashesAndRecordsTheSecondTrustsTheRecordAndPredictsAlike() throws IOException {
        float[] first;
        try (DistilledModel model = load()) {
            assertFalse(model.verifiedByRecord(), "nothing recorded yet: the model is hashed");
            first = model.predict(SAMPLE).logits();
        }
        List<Path> made = recordFiles();
        assertEquals(1, made.size(), "one record, for the INT8 model: " + made);
        String sha = DistilledModel.load(artifact).manifest().files().get(INT8).sha256();
        assertTrue(made.get(0).getFileName().toString().startsWith(sha + "-"), made.toString());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(records)));
        try (DistilledModel model = load()) {
            assertTrue(model.verifiedByRecord(), "the same unchanged file: the record vouches for it");
            assertArrayEquals(first, model.predict(SAMPLE).logits());
        }
    }

    @Test
    void aFileWrittenAgainIsHashedAgainAndATamperedOneIsRefused() throws IOException {
        load().close();
        Path model = artifact.resolve(INT8);
        byte[] bytes = Files.readAllBytes(model);
        Files.write(model, bytes); // same bytes, new change time: the record no longer applies
        try (DistilledModel reloaded = load()) {
            assertFalse(reloaded.verifiedByRecord());
        }
        bytes[bytes.length - 1] ^= 0x01; // same size, different content
        Files.write(model, bytes);
        ModelException e = assertThrows(ModelException.class, this::load);
        assertEquals(ModelException.Code.HASH_MISMATCH, e.code(), e.getMessage());
    }

    @Test
    void aRecordWhoseChecksumDisagreesWithTheBytesIsNotTrusted() throws IOException {
        load().close();
        Path record = recordFiles().get(0);
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(record)) {
            p.load(in);
        }
        p.setProperty("crc32c", "0"); // as if the bytes had changed under the file system
        try (var out = Files.newBufferedWriter(record)) {
            p.store(out, null);
        }
        try (DistilledModel model = load()) {
            assertFalse(model.verifiedByRecord());
        }
    }

    @Test
    void recordsOthersCanWriteAndHashEveryLoadAreNotTrusted() throws IOException {
        load().close();
        try (DistilledModel model = DistilledModel.builder(artifact).verificationCache(records).hashEveryLoad().build()) {
            assertFalse(model.verifiedByRecord(), "hashEveryLoad: the record is not consulted");
        }
        Files.setPosixFilePermissions(records, PosixFilePermissions.fromString("rwxrwxrwx"));
        try (DistilledModel model = load()) {
            assertFalse(model.verifiedByRecord(), "a directory anyone may write vouches for nothing");
        }
    }

    @Test
    void aManifestHashThatIsNotHexNamesNoRecordFile() throws IOException {
        DistilledModelTest.editManifest(artifact, m -> m.getAsJsonObject("files").getAsJsonObject(INT8)
                .addProperty("sha256", "../".repeat(21) + "x"));
        ModelException e = assertThrows(ModelException.class, this::load);
        assertEquals(ModelException.Code.HASH_MISMATCH, e.code(), e.getMessage());
        assertEquals(List.of(), recordFiles());
        try (Stream<Path> around = Files.list(tmp)) {
            assertEquals(List.of("artifact"), around.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }
}
