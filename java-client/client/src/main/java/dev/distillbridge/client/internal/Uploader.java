package dev.distillbridge.client.internal;

import com.google.protobuf.ByteString;
import dev.distillbridge.client.DistillException;
import dev.distillbridge.inference.ArtifactFiles;
import dev.distillbridge.proto.v1.UploadChunk;
import dev.distillbridge.proto.v1.UploadKind;
import dev.distillbridge.proto.v1.UploadMetadata;
import dev.distillbridge.proto.v1.UploadResult;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Sends a local file to {@code UploadModel} / {@code UploadDataset}: the metadata (name, size,
 * SHA-256) first, then 256 KiB chunks, paced by the transport's flow control so a large file
 * is never held in memory. A directory (a Hugging Face model) is zipped first.
 */
public final class Uploader {
    public static final int CHUNK_BYTES = 256 * 1024;

    private Uploader() {}

    /** Uploads {@code file} and returns the server's upload id. */
    public static String upload(Rpc rpc, UploadKind kind, Path file, Deadline deadline) {
        if (Files.isDirectory(file)) {
            Path archive = zipDirectory(file);
            try {
                return upload(rpc, kind, archive, deadline);
            } finally {
                archive.toFile().delete();
                archive.getParent().toFile().delete();
            }
        }
        if (!Files.isRegularFile(file)) {
            String field = kind == UploadKind.UPLOAD_KIND_MODEL ? "teacher" : "dataset";
            throw new DistillException(Status.NOT_FOUND.withDescription(field + ": no such local file: " + file), null, null);
        }
        UploadMetadata metadata = UploadMetadata.newBuilder()
                .setFileName(file.getFileName().toString())
                .setTotalSize(size(file))
                .setSha256(ArtifactFiles.sha256(file))
                .setKind(kind)
                .build();
        Sender sender = new Sender(metadata, file);
        if (kind == UploadKind.UPLOAD_KIND_MODEL) {
            rpc.async(deadline).uploadModel(sender);
        } else {
            rpc.async(deadline).uploadDataset(sender);
        }
        try {
            return sender.result.get().getUploadId();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistillException(Status.CANCELLED.withDescription("interrupted during upload"), null, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof StatusRuntimeException sre) {
                throw DistillException.fromRpc(sre, null);
            }
            if (e.getCause() instanceof UncheckedIOException local) {
                throw local; // the file, not the server: as when it cannot be read before the call
            }
            throw new DistillException(Status.fromThrowable(e.getCause()), null, e.getCause());
        }
    }

    /** Streams chunks whenever the call is ready for more; completes {@link #result}. */
    private static final class Sender implements ClientResponseObserver<UploadChunk, UploadResult> {
        final CompletableFuture<UploadResult> result = new CompletableFuture<>();
        private final UploadMetadata metadata;
        private final Path file;
        private InputStream in;
        private boolean finished;

        Sender(UploadMetadata metadata, Path file) {
            this.metadata = metadata;
            this.file = file;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<UploadChunk> requests) {
            requests.setOnReadyHandler(() -> pump(requests));
        }

        private synchronized void pump(ClientCallStreamObserver<UploadChunk> requests) {
            try {
                if (in == null && !finished) {
                    in = Files.newInputStream(file);
                    requests.onNext(UploadChunk.newBuilder().setMetadata(metadata).build());
                }
                byte[] buffer = new byte[CHUNK_BYTES];
                while (!finished && requests.isReady()) {
                    int n = in.readNBytes(buffer, 0, buffer.length);
                    if (n == 0) {
                        finished = true;
                        in.close();
                        requests.onCompleted();
                    } else {
                        requests.onNext(UploadChunk.newBuilder().setData(ByteString.copyFrom(buffer, 0, n)).build());
                    }
                }
            } catch (IOException e) {
                finished = true;
                requests.onError(Status.ABORTED.withDescription("cannot read " + file).withCause(e).asRuntimeException());
                result.completeExceptionally(new UncheckedIOException("cannot read " + file, e));
            }
        }

        @Override
        public void onNext(UploadResult value) {
            result.complete(value);
        }

        @Override
        public void onError(Throwable t) {
            closeQuietly();
            result.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
            closeQuietly();
            result.completeExceptionally(Status.INTERNAL.withDescription("upload ended without a result").asRuntimeException());
        }

        private synchronized void closeQuietly() {
            finished = true;
            try {
                if (in != null) {
                    in.close();
                }
            } catch (IOException ignored) {
                // nothing left to read from it
            }
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** Zips the regular files under {@code dir} (paths relative to it) into a temp file. */
    private static Path zipDirectory(Path dir) {
        try {
            Path archive = Files.createTempDirectory("distill-upload").resolve(dir.getFileName() + ".zip");
            List<Path> files;
            try (Stream<Path> walk = Files.walk(dir)) {
                files = walk.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).sorted().toList();
            }
            try (OutputStream out = Files.newOutputStream(archive); ZipOutputStream zip = new ZipOutputStream(out)) {
                for (Path f : files) {
                    zip.putNextEntry(new ZipEntry(dir.relativize(f).toString().replace('\\', '/')));
                    Files.copy(f, zip);
                    zip.closeEntry();
                }
            }
            return archive;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot zip " + dir, e);
        }
    }
}
