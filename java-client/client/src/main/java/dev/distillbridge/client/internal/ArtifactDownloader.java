package dev.distillbridge.client.internal;

import dev.distillbridge.client.ArtifactVerificationException;
import dev.distillbridge.client.DistillException;
import dev.distillbridge.inference.ArtifactFile;
import dev.distillbridge.inference.ArtifactFiles;
import dev.distillbridge.inference.ModelException;
import dev.distillbridge.proto.v1.ArtifactChunk;
import dev.distillbridge.proto.v1.DownloadArtifactRequest;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Downloads a job's artifact files with {@code DownloadArtifact}: each into
 * {@code <name>.part}, resuming from the part's size when a stream breaks, then checks size and
 * SHA-256 and renames it into place. A file that fails its check is deleted, never renamed.
 */
public final class ArtifactDownloader implements ArtifactSource {
    private static final Logger LOG = Logger.getLogger(ArtifactDownloader.class.getName());
    private static final String PART_SUFFIX = ".part";
    private static final String MANIFEST = "manifest.json";

    private final Rpc rpc;
    private final String jobId;

    public ArtifactDownloader(Rpc rpc, String jobId) {
        this.rpc = rpc;
        this.jobId = jobId;
    }

    /** Downloads every file into dir (created if needed) and returns dir. */
    @Override
    public Path download(List<ArtifactFile> files, String manifestJson, Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
        for (ArtifactFile file : files) {
            downloadFile(file, dir);
        }
        boolean manifestListed = files.stream().anyMatch(f -> f.name().equals(MANIFEST));
        if (!manifestListed && !manifestJson.isEmpty()) {
            writeAtomically(dir.resolve(MANIFEST), manifestJson.getBytes(StandardCharsets.UTF_8));
        }
        return dir;
    }

    private void downloadFile(ArtifactFile expected, Path dir) {
        Path target;
        try {
            target = ArtifactFiles.resolve(dir, expected.name());
        } catch (ModelException e) {
            throw ArtifactVerificationException.of(e, jobId);
        }
        if (ArtifactFiles.matches(target, expected)) {
            return;
        }
        Path part = target.resolveSibling(target.getFileName() + PART_SUFFIX);
        try {
            Files.createDirectories(target.getParent()); // report/ files are nested
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + target.getParent(), e);
        }
        try {
            ServerFacts facts = fetchWithResume(expected, part);
            facts.check(expected);
            ArtifactFiles.verify(part, expected);
        } catch (ArtifactVerificationException e) {
            deleteQuietly(part);
            throw new ArtifactVerificationException(e.getFileName(), e.getStatus().getDescription(), jobId, e);
        } catch (ModelException e) {
            deleteQuietly(part);
            throw ArtifactVerificationException.of(e, jobId);
        }
        move(part, target);
    }

    private ServerFacts fetchWithResume(ArtifactFile expected, Path part) {
        ServerFacts facts = new ServerFacts(expected.name());
        int failures = 0;
        while (true) {
            long offset = ArtifactFiles.size(part);
            if (offset > expected.sizeBytes()) {
                deleteQuietly(part);
                offset = 0;
            }
            try {
                fetch(expected.name(), offset, part, facts);
                return facts;
            } catch (StatusRuntimeException e) {
                if (ArtifactFiles.size(part) > offset) {
                    failures = 0;
                }
                if (!rpc.retry().isRetryable(e) || ++failures > rpc.retry().maxRetries()) {
                    throw DistillException.fromRpc(e, jobId);
                }
                LOG.log(Level.FINE, "download of {0} broke at byte {1} ({2}); resuming",
                        new Object[] {expected.name(), ArtifactFiles.size(part), e.getStatus()});
                rpc.retry().backoff(failures, jobId);
            }
        }
    }

    /** Streams one file from offset, appending each chunk to part as it arrives. */
    private void fetch(String name, long offset, Path part, ServerFacts facts) {
        DownloadArtifactRequest request = DownloadArtifactRequest.newBuilder()
                .setJobId(jobId).setFileName(name).setOffset(offset).build();
        Rpc.inCancellableContext(() -> {
            Iterator<ArtifactChunk> chunks = rpc.streaming(null).downloadArtifact(request);
            try (FileChannel out = FileChannel.open(part,
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
                long position = offset;
                while (chunks.hasNext()) {
                    ArtifactChunk chunk = chunks.next();
                    facts.record(chunk, position);
                    writeFully(out, chunk.getData().asReadOnlyByteBuffer());
                    position += chunk.getData().size();
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + part, e);
            }
            return null;
        });
    }

    private static void writeFully(FileChannel out, ByteBuffer data) throws IOException {
        while (data.hasRemaining()) {
            out.write(data);
        }
    }

    private static void writeAtomically(Path target, byte[] content) {
        Path part = target.resolveSibling(target.getFileName() + PART_SUFFIX);
        try {
            Files.write(part, content);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + part, e);
        }
        move(part, target);
    }

    private static void move(Path from, Path to) {
        try {
            try {
                Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move " + from + " to " + to, e);
        }
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot delete " + path, e);
        }
    }

    /** What the chunks of one file said about it: name, offsets, total size and SHA-256. */
    private static final class ServerFacts {
        private final String name;
        private long totalSize = -1;
        private String sha256 = "";

        ServerFacts(String name) {
            this.name = name;
        }

        void record(ArtifactChunk chunk, long expectedOffset) {
            if (!chunk.getFileName().isEmpty() && !chunk.getFileName().equals(name)) {
                throw new ArtifactVerificationException(name,
                        "asked for " + name + " but the server sent a chunk of " + chunk.getFileName());
            }
            if (chunk.getOffset() != expectedOffset) {
                throw new ArtifactVerificationException(name, "chunk of " + name + " starts at offset "
                        + chunk.getOffset() + ", expected " + expectedOffset);
            }
            totalSize = chunk.getTotalSize();
            sha256 = chunk.getSha256();
        }

        /** The chunks' total_size and sha256 must agree with the job result's file list. */
        void check(ArtifactFile expected) {
            if (totalSize >= 0 && totalSize != expected.sizeBytes()) {
                throw new ArtifactVerificationException(name, "size mismatch for " + name + ": the job result says "
                        + expected.sizeBytes() + " bytes, the download stream says " + totalSize);
            }
            if (!sha256.isEmpty() && !sha256.equalsIgnoreCase(expected.sha256())) {
                throw new ArtifactVerificationException(name, "sha256 mismatch for " + name + ": the job result says "
                        + expected.sha256() + ", the download stream says " + sha256);
            }
        }
    }
}
