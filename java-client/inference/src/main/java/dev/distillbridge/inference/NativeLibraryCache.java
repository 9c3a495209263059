package dev.distillbridge.inference;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.zip.CRC32;

/**
 * ONNX Runtime's native libraries, extracted once into a private per-jar directory and reused,
 * instead of ONNX Runtime copying ~28 MB out of its jar into a fresh temp directory on every JVM
 * start (most of a cold start; see DESIGN.md).
 *
 * <p>How it stays safe: the directory is named after the ORT jar (file name, and a checksum of
 * its path, size and modification time, all recorded again inside), so another jar never reuses
 * it; it is filled in a private temp directory and renamed into place atomically, so no JVM sees
 * half a library; each library's size and CRC-32 are checked against the jar entry while it is
 * copied, and its SHA-256 is recorded with the file's identity (device, inode, size, change
 * time). A later start uses a library only when its identity is the one recorded (any write or
 * replacement changes the change time or the inode, and the change time cannot be set back) or,
 * where it is not (or the file system has no such identity), after re-hashing it against the
 * recorded SHA-256. A directory or file that is group- or world-writable or owned by another
 * user is not used. When anything does not check out, ONNX Runtime extracts its libraries
 * itself, as it would without this class. The fast path reads no library bytes, opens no jar and
 * starts neither logging nor regular expressions: it is on every cold start.
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
    private static final String JAR_KEY = "jar";
    private static final List<String> LIBRARIES = List.of("onnxruntime", "onnxruntime4j_jni");

    private NativeLibraryCache() {
    }

    /** The ORT jar on the classpath and where in it this platform's libraries are. */
    private record OrtJar(Path path, String identity, String platformDir) {
        String entry(String fileName) {
            return platformDir + "/" + fileName;
        }
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
            if (dir.isPresent()) {
                System.setProperty(ORT_NATIVE_PATH, dir.get().toString());
            }
            return dir;
        } catch (IOException | UncheckedIOException | SecurityException | IllegalStateException e) {
            warn("not using the ONNX Runtime native-library cache ({0}); ONNX Runtime extracts its libraries itself",
                    e.toString());
            return Optional.empty();
        }
    }

    /**
     * The verified directory under {@code base}, extracting it first when it is not there; empty
     * when ORT's libraries are not in a jar.
     *
     * @throws IllegalStateException when the directory is there but does not check out
     */
    static Optional<Path> prepare(Path base) throws IOException {
        Optional<OrtJar> found = ortJar();
        if (found.isEmpty()) {
            return Optional.empty();
        }
        OrtJar jar = found.get();
        Path dir = base.resolve(directoryName(jar));
        if (!Files.isDirectory(dir)) {
            PrivateFiles.createPrivateDirectories(base);
            extract(jar, base, dir);
        }
        if (!verify(dir, jar)) {
            throw new IllegalStateException(dir + " does not match the ONNX Runtime jar " + jar.path());
        }
        return Optional.of(dir);
    }

    // No lambdas or streams on this path: the first ones in a JVM cost tens of ms to bootstrap,
    // and this runs on every cold start, often before anything else has used them.

    /**
     * Whether this process mapped ONNX Runtime's library from {@code dir} (Linux: from
     * /proc/self/maps); true where that cannot be read.
     */
    static boolean isLoadedFrom(Path dir) {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return true;
        }
        String library = "/" + System.mapLibraryName(LIBRARIES.get(0));
        try {
            Path real = dir.toRealPath(); // the maps list resolved paths (e.g. through a symlinked home)
            for (String line : Files.readAllLines(maps)) {
                if (line.endsWith(library) && Path.of(line.substring(line.indexOf('/'))).startsWith(real)) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    /** The ORT jar holding this platform's core library; empty when it is not in a jar (e.g. unpacked classes). */
    private static Optional<OrtJar> ortJar() throws IOException {
        String platformDir = "ai/onnxruntime/native/" + platform();
        URL url = NativeLibraryCache.class.getClassLoader()
                .getResource(platformDir + "/" + System.mapLibraryName(LIBRARIES.get(0)));
        if (url == null || !"jar".equals(url.getProtocol())) {
            return Optional.empty();
        }
        String spec = url.getPath(); // file:/.../onnxruntime-1.29.0.jar!/ai/onnxruntime/...
        int bang = spec.indexOf("!/");
        if (bang < 0 || !spec.startsWith("file:")) {
            return Optional.empty();
        }
        Path path;
        try {
            path = Path.of(new URI(spec.substring(0, bang)));
        } catch (URISyntaxException | IllegalArgumentException e) {
            return Optional.empty();
        }
        BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class);
        String identity = path.toAbsolutePath() + "|" + attrs.size() + "|" + attrs.lastModifiedTime().to(TimeUnit.NANOSECONDS);
        return Optional.of(new OrtJar(path, identity, platformDir));
    }

    /** {@code <jar file name>-<platform>-<CRC-32 of the jar's path, size and mtime>}. */
    private static String directoryName(OrtJar jar) {
        CRC32 key = new CRC32();
        key.update(jar.identity().getBytes(StandardCharsets.UTF_8));
        String name = jar.path().getFileName().toString();
        name = name.endsWith(".jar") ? name.substring(0, name.length() - 4) : name;
        return safe(name) + "-" + platform() + "-" + Long.toHexString(key.getValue());
    }

    /** {@code text} with anything but ASCII letters, digits, '.', '_' and '-' as '_'. */
    private static String safe(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (char c : text.toCharArray()) {
            boolean plain = c < 128 && (Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-');
            out.append(plain ? c : '_');
        }
        return out.toString();
    }

    /** Extracts into a private temp directory next to {@code dir}, then renames it into place. */
    private static void extract(OrtJar jar, Path base, Path dir) throws IOException {
        Path tmp = Files.createTempDirectory(base, "." + dir.getFileName() + ".tmp-");
        try {
            Properties stamp = new Properties();
            stamp.setProperty(JAR_KEY, jar.identity());
            try (JarFile file = new JarFile(jar.path().toFile(), false)) {
                for (String library : LIBRARIES) {
                    String name = System.mapLibraryName(library);
                    JarEntry entry = file.getJarEntry(jar.entry(name));
                    if (entry == null) {
                        throw new IOException(jar.path() + " has no " + jar.entry(name));
                    }
                    stamp.setProperty(name + ".sha256", copyChecked(file, entry, tmp.resolve(name)));
                }
            }
            for (String library : LIBRARIES) { // identities last: the rename below keeps them
                String name = System.mapLibraryName(library);
                PrivateFiles.identity(tmp.resolve(name)).ifPresent(id -> stamp.setProperty(name + ".identity", id));
            }
            try (Writer out = Files.newBufferedWriter(tmp.resolve(STAMP))) {
                stamp.store(out, "SHA-256 and file identity of each library as extracted from the ONNX Runtime jar");
            }
            moveIntoPlace(tmp, dir);
        } finally {
            deleteTree(tmp);
        }
    }

    private static void moveIntoPlace(Path tmp, Path dir) throws IOException {
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
    }

    /** Copies a jar entry, checking its size and CRC-32; returns the SHA-256 of the bytes written. */
    private static String copyChecked(JarFile jar, JarEntry entry, Path file) throws IOException {
        MessageDigest sha = sha256();
        CRC32 crc = new CRC32();
        long size = 0;
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = new DigestInputStream(jar.getInputStream(entry), sha);
                OutputStream out = Files.newOutputStream(file)) {
            for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                crc.update(buffer, 0, n);
                out.write(buffer, 0, n);
                size += n;
            }
        }
        if (size != entry.getSize() || crc.getValue() != entry.getCrc()) {
            throw new IOException("extracting " + entry.getName() + " gave " + size + " bytes with CRC-32 "
                    + Long.toHexString(crc.getValue()) + ", the jar says " + entry.getSize() + " and "
                    + Long.toHexString(entry.getCrc()));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * True when {@code dir} was extracted from this jar and every library in it is the one whose
     * SHA-256 was recorded: the same file identity (cheap), or else the same SHA-256 (read in full).
     */
    private static boolean verify(Path dir, OrtJar jar) throws IOException {
        Path stampFile = dir.resolve(STAMP);
        if (!PrivateFiles.isPrivate(dir) || !Files.isRegularFile(stampFile)) {
            warn("{0} is writable by others, owned by another user, or has no {1}", dir, STAMP);
            return false;
        }
        Properties stamp = new Properties();
        try (Reader in = Files.newBufferedReader(stampFile)) {
            stamp.load(in);
        }
        if (!jar.identity().equals(stamp.getProperty(JAR_KEY))) {
            return false;
        }
        for (String library : LIBRARIES) {
            String name = System.mapLibraryName(library);
            Path file = dir.resolve(name);
            String sha = stamp.getProperty(name + ".sha256");
            if (sha == null || !Files.isRegularFile(file) || !PrivateFiles.isPrivate(file)) {
                return false;
            }
            Optional<String> identity = PrivateFiles.identity(file);
            boolean same = identity.isPresent() && identity.get().equals(stamp.getProperty(name + ".identity"));
            if (!same && !sha.equals(ArtifactFiles.sha256(file))) {
                warn("{0} has changed since it was extracted (its SHA-256 differs)", file);
                return false;
            }
        }
        return true;
    }

    private static Path defaultBase() {
        return PrivateFiles.cacheBase().resolve("onnxruntime");
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

    /** Created on the first warning only: the logging system costs tens of ms to start. */
    private static void warn(String format, Object... args) {
        System.getLogger(NativeLibraryCache.class.getName()).log(Level.WARNING, format, args);
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        List<Path> paths = new ArrayList<>();
        try (var walk = Files.walk(dir)) {
            walk.forEach(paths::add);
        } catch (IOException | UncheckedIOException e) {
            return; // a leftover .tmp- directory is harmless: never used
        }
        for (int i = paths.size() - 1; i >= 0; i--) {
            paths.get(i).toFile().delete();
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
