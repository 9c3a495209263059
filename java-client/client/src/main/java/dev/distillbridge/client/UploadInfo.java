package dev.distillbridge.client;

import dev.distillbridge.proto.v1.UploadResult;
import java.time.Instant;
import java.util.List;

/**
 * A file stored on the server by an upload (a job naming a local teacher or dataset file
 * uploads it first), as {@link DistillBridge#listUploads()} reports it.
 *
 * @param uploadId the server's id, e.g. {@code "upl-0123456789abcdef"}
 * @param fileName the uploaded file's base name
 * @param kind model or dataset
 * @param sizeBytes size of the uploaded file
 * @param sha256 SHA-256 of the uploaded file, lower-case hex
 * @param extracted true when a .zip was unpacked into a directory (a Hugging Face model)
 * @param createdAt when the upload was stored
 * @param lastUsedAt when a job that references it was last submitted or finished
 *     ({@code createdAt} if never used); the server's upload retention counts from here
 * @param activeJobIds queued or running jobs that reference it: while there are any,
 *     {@link DistillBridge#deleteUpload(String)} is refused
 */
public record UploadInfo(
        String uploadId,
        String fileName,
        UploadKind kind,
        long sizeBytes,
        String sha256,
        boolean extracted,
        Instant createdAt,
        Instant lastUsedAt,
        List<String> activeJobIds) {

    public UploadInfo {
        activeJobIds = List.copyOf(activeJobIds);
    }

    static UploadInfo fromProto(UploadResult u) {
        Instant createdAt = JobInfo.instant(u.getCreatedAt());
        return new UploadInfo(u.getUploadId(), u.getFileName(), UploadKind.fromProto(u.getKind()), u.getSizeBytes(),
                u.getSha256(), u.getExtracted(), createdAt,
                u.hasLastUsedAt() ? JobInfo.instant(u.getLastUsedAt()) : createdAt,
                u.getActiveJobIdsList());
    }
}
