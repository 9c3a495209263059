package dev.distillbridge.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** {@link NativeLibraryCache}: extracted once, reused, and not used once it no longer matches the jar. */
@EnabledOnOs(OS.LINUX)
class NativeLibraryCacheTest {
    private static final String CORE = System.mapLibraryName("onnxruntime");
    private static final String JNI = System.mapLibraryName("onnxruntime4j_jni");

    @TempDir
    Path base;

    @Test
    void extractsOnceIntoAPrivateDirectoryAndReusesIt() throws IOException {
        Path dir = NativeLibraryCache.prepare(base).orElseThrow();
        assertEquals(base, dir.getParent());
        assertTrue(dir.getFileName().toString().startsWith("onnxruntime-1."), "named by the ORT jar: " + dir);
        Object before = Files.readAttributes(dir.resolve(CORE), BasicFileAttributes.class).fileKey();
        assertTrue(Files.size(dir.resolve(CORE)) > 1_000_000);

        assertEquals(dir, NativeLibraryCache.prepare(base).orElseThrow());
        assertEquals(before, Files.readAttributes(dir.resolve(CORE), BasicFileAttributes.class).fileKey(),
                "the second start reuses the file");
        try (Stream<Path> entries = Files.list(base)) {
            assertEquals(List.of(dir), entries.toList(), "no temp directory left behind");
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(base);
        assertTrue(!perms.contains(PosixFilePermission.GROUP_WRITE) && !perms.contains(PosixFilePermission.OTHERS_WRITE),
                perms.toString());
    }

    @Test
    void aLibraryChangedInPlaceIsNotUsed() throws IOException {
        Path dir = NativeLibraryCache.prepare(base).orElseThrow();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(JNI).toFile(), "rw")) {
            f.seek(f.length() / 2);
            int b = f.read();
            f.seek(f.length() / 2);
            f.write(b ^ 0x01); // same size, one bit: only the SHA-256 tells
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> NativeLibraryCache.prepare(base));
        assertTrue(e.getMessage().contains("does not match the ONNX Runtime jar"), e.getMessage());
    }

    @Test
    void aTruncatedLibraryIsNotUsed() throws IOException {
        Path dir = NativeLibraryCache.prepare(base).orElseThrow();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(CORE).toFile(), "rw")) {
            f.setLength(f.length() - 1);
        }
        assertThrows(IllegalStateException.class, () -> NativeLibraryCache.prepare(base));
    }

    @Test
    void anIdenticalCopyIsReHashedAndAccepted() throws IOException {
        Path dir = NativeLibraryCache.prepare(base).orElseThrow();
        Path copy = base.resolve("copy");
        Files.copy(dir.resolve(JNI), copy);
        Files.move(copy, dir.resolve(JNI), StandardCopyOption.REPLACE_EXISTING); // new inode, same bytes
        assertEquals(dir, NativeLibraryCache.prepare(base).orElseThrow());
    }

    @Test
    void theLoadedDirectoryIsRecognisedThroughASymlinkAndNoOtherIs(@TempDir Path other) throws IOException {
        try (DistilledModel model = DistilledModel.load(DistilledModelTest.FIXTURE)) {
            Path loaded = DistilledModel.nativeLibraryDirectory().orElse(null);
            org.junit.jupiter.api.Assumptions.assumeTrue(loaded != null, "ORT came from the cache");
            Path link = Files.createSymbolicLink(other.resolve("link"), loaded);
            try {
                assertTrue(NativeLibraryCache.isLoadedFrom(link), "/proc/self/maps lists resolved paths");
            } finally {
                Files.delete(link); // @TempDir would warn about a link leading out of it
            }
            Path elsewhere = NativeLibraryCache.prepare(base).orElseThrow();
            org.junit.jupiter.api.Assertions.assertFalse(NativeLibraryCache.isLoadedFrom(elsewhere));
        }
    }

    @Test
    void aDirectoryOthersCanWriteIsNotUsed() throws IOException {
        Path dir = NativeLibraryCache.prepare(base).orElseThrow();
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir);
        perms.add(PosixFilePermission.OTHERS_WRITE);
        Files.setPosixFilePermissions(dir, perms);
        assertThrows(IllegalStateException.class, () -> NativeLibraryCache.prepare(base));
    }

    @Test
    void theRuntimeLoadsItsLibrariesFromTheCacheItVerified() {
        String configured = System.getProperty(NativeLibraryCache.CACHE_PROPERTY);
        org.junit.jupiter.api.Assumptions.assumeTrue(configured != null && !configured.isEmpty()
                && !configured.equals("off"), "surefire points the cache at target/");
        try (DistilledModel model = DistilledModel.load(DistilledModelTest.FIXTURE)) {
            Path dir = DistilledModel.nativeLibraryDirectory().orElseThrow();
            assertTrue(dir.startsWith(Path.of(configured)), dir.toString());
            assertTrue(NativeLibraryCache.isLoadedFrom(dir), "/proc/self/maps shows " + CORE + " from " + dir);
            assertEquals(dir.toString(), System.getProperty(NativeLibraryCache.ORT_NATIVE_PATH));
        }
    }
}
