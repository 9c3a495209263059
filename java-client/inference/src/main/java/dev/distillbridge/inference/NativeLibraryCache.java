package dev.distillbridge.inference;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.lang.System.Logger.Level;
import java.net.JarURLConnection;
import java.net.URL;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.jar.JarEntry;
import java.util.zip.CRC32;

/**
 * ONNX Runtime's native libraries, extracted once into a private per-version directory and
 * reused, instead of ONNX Runtime copying ~28 MB out of its jar into a fresh temp directory on
 * every JVM start (most of a cold start; see DESIGN.md).
 *
 * <p>How it stays safe: the directory is named by the ORT version, platform and the jar entries'
 * sizes and CRC-32s, so another ORT jar never reuses it; it is filled in a private temp directory
 * and renamed into place atomically, so no JVM sees half a library; the SHA-256 of each library
 * is computed from the jar's bytes while extracting and recorded with the file's identity
 * (size, inode, change time). A later start loads a library only when its identity is the one
 * recorded (any write or replacement changes the change time or inode) or, when it is not,
 * after re-hashing it against the recorded SHA-256. Directories group- or world-writable, or
 * anything that fails a check, are not used: ONNX Runtime then extracts its libraries itself,
 * as it would without this class.
 *
 * <p>Opt out with {@code -Ddistillbridge.onnxruntime.cache=off}; choose the place with
 * {@code -Ddistillbridge.onnxruntime.cache=DIR} (default {@code $XDG_CACHE_HOME} or
 * {@code ~/.cache}, then {@code distill-bridge/onnxruntime}). A JVM started with ORT's own
 * {@code -Donnxruntime.native.path} is left alone.
 */
final class NativeLibraryCache {
    /** ORT's property: load the native libraries from this directory. */
    static final String ORT_NATIVE_PATH = "onnxruntime.native.path";
    /** Where the cache lives, or "off". */
    static final String CACHE_PROPERTY = "distillbridge.onnxruntime.cache";
    private static final String STAMP = "distill-bridge-verified.properties";
    private static final List<String> LIBRARIES = List.of("onnxruntime", "onnxruntime4j_jni");
    private static final System.Logger LOG = System.getLogger(NativeLibraryCache.class.getName());

    private NativeLibraryCache() {
    }

    /** One library as the ORT jar holds it. */
    private record JarLibrary(String fileName, URL url, long size, long crc, String jarVersion) {
    }

    /**
     * Points ONNX Runtime at the verified cache directory (sets {@value #ORT_NATIVE_PATH});
     * call before anything touches ORT's classes. Returns the directory, or empty when ORT will
     * extract its libraries itself (opted out, set by the user, an unpacked ORT jar, a failed
     * check: logged).
     */
    static Optional<Path> prepare() {
        String setting = System.getProperty(CACHE_PROPERTY, "");
        if (System.getProperty(ORT_NATIVE_PATH) != null || "off".equalsIgnoreCase(setting)) {
            return Optional.empty();
        }
        try {
            Optional<Path> dir = prepare(setting.isEmpty() ? defaultBase() : Path.of(setting));
            dir.ifPresent(d -> System.setProperty(ORT_NATIVE_PATH, d.toString()));
            return dir;
        } catch (IOException | UncheckedIOException | SecurityException | IllegalStateException e) {
            LOG.log(Level.WARNING, "not using the ONNX Runtime native-library cache ({0}); ONNX Runtime extracts its "
                    + "libraries itself", e.toString());
            return Optional.empty();
        }
    }

    /** The verified directory under {@code base}, extracting it first when it is not there. */
    static Optional<Path> prepare(Path base) throws IOException {
        Optional<List<JarLibrary>> found = jarLibraries();
        if (found.isEmpty()) {
            return Optional.empty();
        }
        List<JarLibrary> libraries = found.get();
        Path dir = base.resolve(directoryName(libraries));
        if (!Files.isDirectory(dir)) {
            createPrivateDirectories(base);
            extract(libraries, base, dir);
        }
        if (!verify(dir, libraries)) {
            throw new IllegalStateException(dir + " does not match the ONNX Runtime jar");
        }
        return Optional.of(dir);
    }

    /**
     * Whether this process mapped ONNX Runtime's library from {@code dir} (Linux: from
     * /proc/self/maps); true where that cannot be read.
     */
    static boolean isLoadedFrom(Path dir) {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return true;
        }
        String library = System.mapLibraryName(LIBRARIES.get(0));
        try (var lines = Files.lines(maps)) {
            return lines.filter(l -> l.endsWith("/" + library))
                    .map(l -> Path.of(l.substring(l.indexOf('/'))))
                    .anyMatch(p -> p.startsWith(dir));
        } catch (IOException | UncheckedIOException e) {
            return false;
        }
    }

    /** The platform's libraries in the ORT jar on the classpath; empty when they are not in a jar. */
    private static Optional<List<JarLibrary>> jarLibraries() throws IOException {
        String platform = platform();
        List<JarLibrary> out = new ArrayList<>();
        for (String library : LIBRARIES) {
            String fileName = System.mapLibraryName(library);
            URL url = NativeLibraryCache.class.getClassLoader()
                    .getResource("ai/onnxruntime/native/" + platform + "/" + fileName);
            if (url == null || !(url.openConnection() instanceof JarURLConnection jar)) {
                return Optional.empty();
            }
            JarEntry entry = jar.getJarEntry();
            if (entry.getSize() < 0 || entry.getCrc() < 0) {
                return Optional.empty();
            }
            String v = jar.getMainAttributes() == null ? null : jar.getMainAttributes().getValue("Implementation-Version");
            out.add(new JarLibrary(fileName, url, entry.getSize(), entry.getCrc(), v));
        }
        return Optional.of(out);
    }

    /** {@code <version>-<platform>-<crc>}: another jar (even of the same version) gets another directory. */
    private static String directoryName(List<JarLibrary> libraries) {
        CRC32 key = new CRC32();
        for (JarLibrary l : libraries) {
            key.update((l.fileName() + ":" + l.size() + ":" + l.crc() + ";").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        String version = libraries.get(0).jarVersion();
        String safeVersion = version == null ? "unknown" : version.replaceAll("[^A-Za-z0-9._-]", "_");
        return safeVersion + "-" + platform() + "-" + String.format(Locale.ROOT, "%08x", key.getValue());
    }

    /** Extracts into a private temp directory next to {@code dir}, then renames it into place. */
    private static void extract(List<JarLibrary> libraries, Path base, Path dir) throws IOException {
        Path tmp = Files.createTempDirectory(base, "." + dir.getFileName() + ".tmp-");
        try {
            Properties stamp = new Properties();
            for (JarLibrary l : libraries) {
                Path file = tmp.resolve(l.fileName());
                stamp.setProperty(l.fileName() + ".sha256", copyHashing(l, file));
            }
            for (JarLibrary l : libraries) { // identities last: the rename below keeps them
                stamp.putAll(identity(tmp.resolve(l.fileName()), l.fileName()));
            }
            try (Writer out = Files.newBufferedWriter(tmp.resolve(STAMP))) {
                stamp.store(out, "SHA-256 of each library as extracted from the ONNX Runtime jar, and its file identity");
            }
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot rename " + tmp + " atomically", e);
            } catch (FileSystemException e) {
                if (!Files.isDirectory(dir)) {
                    throw e;
                }
                // another JVM won the race: its directory is verified like any other
            }
        } finally {
            deleteTree(tmp);
        }
    }

    /** Copies a library out of the jar, checking size and CRC-32; returns the SHA-256 of the bytes written. */
    private static String copyHashing(JarLibrary library, Path file) throws IOException {
        MessageDigest sha = sha256();
        CRC32 crc = new CRC32();
        long size = 0;
        JarURLConnection connection = (JarURLConnection) library.url().openConnection();
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = new DigestInputStream(connection.getInputStream(), sha);
                OutputStream out = Files.newOutputStream(file)) {
            for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                crc.update(buffer, 0, n);
                out.write(buffer, 0, n);
                size += n;
            }
        }
        if (size != library.size() || crc.getValue() != library.crc()) {
            throw new IOException("extracting " + library.fileName() + " gave " + size + " bytes with CRC-32 "
                    + Long.toHexString(crc.getValue()) + ", the jar says " + library.size() + " and "
                    + Long.toHexString(library.crc()));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * True when every library in {@code dir} is the one whose SHA-256 was recorded: the same file
     * identity (cheap), or else the same SHA-256 (read in full).
     */
    private static boolean verify(Path dir, List<JarLibrary> libraries) throws IOException {
        if (!isPrivate(dir)) {
            LOG.log(Level.WARNING, "{0} is writable by others or not owned by this user", dir);
            return false;
        }
        Properties stamp = new Properties();
        try (Reader in = Files.newBufferedReader(dir.resolve(STAMP))) {
            stamp.load(in);
        }
        for (JarLibrary l : libraries) {
            Path file = dir.resolve(l.fileName());
            String sha = stamp.getProperty(l.fileName() + ".sha256");
            if (sha == null || !Files.isRegularFile(file) || Files.size(file) != l.size() || !isPrivate(file)) {
                return false;
            }
            if (!identity(file, l.fileName()).equals(identityOf(stamp, l.fileName()))
                    && !sha.equals(ArtifactFiles.sha256(file))) {
                LOG.log(Level.WARNING, "{0} has changed since it was extracted (SHA-256 differs)", file);
                return false;
            }
        }
        return true;
    }

    /** Size, inode and change time: a write or a replacement changes at least one (ctime cannot be set back). */
    private static Properties identity(Path file, String name) throws IOException {
        Properties p = new Properties();
        BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
        p.setProperty(name + ".size", Long.toString(attrs.size()));
        p.setProperty(name + ".key", String.valueOf(attrs.fileKey()));
        try {
            p.setProperty(name + ".ctime", String.valueOf(Files.getAttribute(file, "unix:ctime")));
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            p.setProperty(name + ".ctime", "none: always re-hashed"); // never equal to a live reading below
            p.setProperty(name + ".nonce", UUID.randomUUID().toString());
        }
        return p;
    }

    private static Properties identityOf(Properties stamp, String name) {
        Properties p = new Properties();
        for (String field : List.of("size", "key", "ctime", "nonce")) {
            String value = stamp.getProperty(name + "." + field);
            if (value != null) {
                p.setProperty(name + "." + field, value);
            }
        }
        return p;
    }

    private static boolean isPrivate(Path path) throws IOException {
        if (!Files.getFileStore(path).supportsFileAttributeView("posix")) {
            return true;
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(path);
        return !perms.contains(PosixFilePermission.GROUP_WRITE) && !perms.contains(PosixFilePermission.OTHERS_WRITE)
                && Files.getOwner(path).getName().equals(System.getProperty("user.name"));
    }

    private static void createPrivateDirectories(Path base) throws IOException {
        if (Files.isDirectory(base)) {
            return;
        }
        if (base.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Files.createDirectories(base, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } else {
            Files.createDirectories(base);
        }
    }

    private static Path defaultBase() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path cache = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return cache.resolve("distill-bridge").resolve("onnxruntime");
    }

    /** The platform directory inside the ORT jar, as ORT's own loader names it. */
    private static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.contains("mac") || os.contains("darwin") ? "osx" : os.contains("win") ? "win"
                : os.contains("nux") ? "linux" : "unsupported";
        String a = arch.startsWith("amd64") || arch.startsWith("x86_64") ? "x64" : arch.startsWith("aarch64") ? "aarch64"
                : "unsupported";
        return o + "-" + a;
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temp directory is harmless: never used, named .tmp-
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }
}
