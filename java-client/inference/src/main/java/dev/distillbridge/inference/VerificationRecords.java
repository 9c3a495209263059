package dev.distillbridge.inference;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * Records of the SHA-256 checks this user's loads have made, so that loading the same unchanged
 * file again trusts that check instead of hashing the file again: in a fresh JVM SHA-256 runs
 * interpreted until the JIT compiles it, ~40-60 ms of CPU plus the compiler's work for a 7.5 MB
 * text model, a third of a cold start on two cores. ONNX Runtime's native libraries are reused
 * the same way ({@link NativeLibraryCache}).
 *
 * <p>A record says: the file with this identity (device, inode, size, change time) held bytes
 * whose SHA-256 was the manifest's and whose CRC-32C was this. A load trusts the manifest's
 * SHA-256 for the bytes it read only when the file had the recorded identity both before and
 * after the read (a write or a replacement changes the change time or the inode, and the
 * change time cannot be set back) and those bytes' CRC-32C is the recorded one (which also
 * catches what changes under the file system, such as a bad block; CRC-32C is intrinsic even in
 * the interpreter: ~2 ms for 7.5 MB). Anything else, including any trouble reading the
 * records, means hashing as if there were none; a match is recorded afterwards. Records live in
 * a directory only this user can write ({@code ~/.cache/distill-bridge/verified} or under
 * {@code $XDG_CACHE_HOME}); one that is group- or world-writable, or owned by someone else, is
 * ignored. {@code -Ddistillbridge.verification.cache=DIR} moves them, {@code =off} hashes every
 * load, as does {@link DistilledModel.Builder#hashEveryLoad()}.
 */
final class VerificationRecords {
    /** Where the records live, or "off". */
    static final String PROPERTY = "distillbridge.verification.cache";
    private static final String IDENTITY = "identity";
    private static final String CRC32C_KEY = "crc32c";
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    /** Null: off. */
    private final Path dir;

    private VerificationRecords(Path dir) {
        this.dir = dir;
    }

    /** Every load hashes; nothing is recorded. */
    static VerificationRecords off() {
        return new VerificationRecords(null);
    }

    /** Records in {@code dir} (created, private, on the first record). */
    static VerificationRecords at(Path dir) {
        return new VerificationRecords(dir.toAbsolutePath());
    }

    /** As {@value #PROPERTY} says: a directory, "off", or (unset) the default place. */
    static VerificationRecords fromSystemProperty() {
        String setting = System.getProperty(PROPERTY, "");
        if ("off".equalsIgnoreCase(setting)) {
            return off();
        }
        return at(setting.isEmpty() ? PrivateFiles.cacheBase().resolve("verified") : Path.of(setting));
    }

    /**
     * The bytes of one artifact file, read once.
     *
     * @param identity the file's identity, the same before and after the read; null when unknown
     *     (records off, no unix view, or the file changed while it was read): nothing is recorded
     * @param vouched true when a record vouches for exactly these bytes: no hashing needed
     */
    record Read(byte[] bytes, String identity, boolean vouched) {
    }

    /**
     * Reads {@code file} once, checking its size against the manifest
     * ({@link ArtifactFiles#readSized}), and looks for a record that vouches for those bytes.
     *
     * @throws ModelException ({@code FILE_MISSING}, {@code SIZE_MISMATCH})
     */
    Read read(Path file, ArtifactFile expected) {
        // the manifest's SHA-256 names the record: anything but 64 hex digits is never recorded
        String before = isSha256Hex(expected.sha256()) ? identityOrNull(file) : null;
        byte[] bytes = ArtifactFiles.readSized(file, expected);
        if (before == null || !before.equals(identityOrNull(file))) {
            return new Read(bytes, null, false);
        }
        return new Read(bytes, before, isRecorded(before, bytes, expected));
    }

    /**
     * Checks bytes no record vouched for against the manifest's SHA-256, then records the match
     * (never failing for the record: a load does not depend on the cache).
     *
     * @throws ModelException ({@code HASH_MISMATCH}) naming the file and both values
     */
    void confirm(Read read, ArtifactFile expected) {
        if (read.vouched()) {
            return;
        }
        ArtifactFiles.checkSha256(read.bytes(), expected);
        if (read.identity() != null) {
            record(read.identity(), read.bytes(), expected);
        }
    }

    private String identityOrNull(Path file) {
        if (dir == null) {
            return null;
        }
        try {
            return PrivateFiles.identity(file).orElse(null);
        } catch (IOException | UncheckedIOException | SecurityException e) {
            return null;
        }
    }

    private boolean isRecorded(String identity, byte[] bytes, ArtifactFile expected) {
        Path file = recordFile(identity, expected);
        try {
            if (!Files.isRegularFile(file) || !PrivateFiles.isPrivate(dir) || !PrivateFiles.isPrivate(file)) {
                return false;
            }
            Properties record = new Properties();
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                record.load(in);
            }
            return identity.equals(record.getProperty(IDENTITY)) && crc32c(bytes).equals(record.getProperty(CRC32C_KEY));
        } catch (IOException | UncheckedIOException | IllegalArgumentException | SecurityException e) {
            return false;
        }
    }

    private void record(String identity, byte[] bytes, ArtifactFile expected) {
        Path file = recordFile(identity, expected);
        Path tmp = null;
        try {
            PrivateFiles.createPrivateDirectories(dir);
            Properties record = new Properties();
            record.setProperty(IDENTITY, identity);
            record.setProperty(CRC32C_KEY, crc32c(bytes));
            tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            try (Writer out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                record.store(out, expected.name() + ": SHA-256 " + expected.sha256() + " checked in full");
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UncheckedIOException | SecurityException e) {
            if (WARNED.compareAndSet(false, true)) { // once per JVM: a read-only home would say it on every load
                System.getLogger(VerificationRecords.class.getName()).log(Level.WARNING,
                        "cannot record verified artifact files in {0} ({1}); every load hashes its files",
                        dir, e instanceof AtomicMoveNotSupportedException ? "no atomic rename" : e.toString());
            }
        } finally {
            deleteQuietly(tmp);
        }
    }

    /** {@code <manifest SHA-256>-<CRC-32 of the identity>}: one record per copy of a file. */
    private Path recordFile(String identity, ArtifactFile expected) {
        CRC32 key = new CRC32();
        key.update(identity.getBytes(StandardCharsets.UTF_8));
        return dir.resolve(expected.sha256().toLowerCase(Locale.ROOT) + "-" + Long.toHexString(key.getValue()));
    }

    private static boolean isSha256Hex(String text) {
        if (text.length() != 64) {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
                return false;
            }
        }
        return true;
    }

    private static String crc32c(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length);
        return Long.toHexString(crc.getValue());
    }

    private static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                // a leftover .tmp file is never read as a record
            }
        }
    }
}
