package dev.distillbridge.inference;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * What this library's private caches (ONNX Runtime's native libraries, records of verified
 * artifact files) share: where they live, who may write them, and a file's identity.
 */
final class PrivateFiles {
    private static final String UNIX_ATTRIBUTES = "unix:size,dev,ino,ctime,mode,owner";

    private PrivateFiles() {
    }

    /** {@code $XDG_CACHE_HOME/distill-bridge}, else {@code ~/.cache/distill-bridge}. */
    static Path cacheBase() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path cache = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return cache.resolve("distill-bridge");
    }

    /**
     * Device, inode, size and change time (ns), from one stat; empty where the file system has
     * no unix view. Any write to the file or its replacement changes it, and the change time
     * cannot be set back (short of the system clock).
     */
    static Optional<String> identity(Path file) throws IOException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(file, UNIX_ATTRIBUTES);
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return Optional.empty();
        }
        return Optional.of(a.get("dev") + ":" + a.get("ino") + ":" + a.get("size") + ":"
                + ((FileTime) a.get("ctime")).to(TimeUnit.NANOSECONDS));
    }

    /** Not group- or world-writable, and owned by this user (where the file system says). */
    static boolean isPrivate(Path path) throws IOException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(path, UNIX_ATTRIBUTES);
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return true; // no owner or mode to check (e.g. Windows); callers fall back to SHA-256
        }
        int mode = (Integer) a.get("mode");
        return (mode & 0022) == 0 && ((UserPrincipal) a.get("owner")).getName().equals(System.getProperty("user.name"));
    }

    /** Creates {@code dir} (and its parents) readable by this user only, where it is missing. */
    static void createPrivateDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } else {
            Files.createDirectories(dir);
        }
    }
}
