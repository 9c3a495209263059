package dev.distillbridge.client;

import io.grpc.Status;

/**
 * An artifact failed a check: a size or SHA-256 that does not match, a golden vector the
 * model does not reproduce, or a manifest that cannot be read. Its status is always
 * {@link Status.Code#DATA_LOSS}, and the message names the file and the numbers.
 */
public class ArtifactVerificationException extends DistillException {
    private static final long serialVersionUID = 1L;

    private final String fileName;

    /**
     * @param fileName the file that failed (e.g. {@code model.int8.onnx})
     * @param message what failed, with the numbers
     */
    public ArtifactVerificationException(String fileName, String message) {
        this(fileName, message, null, null);
    }

    ArtifactVerificationException(String fileName, String message, String jobId, Throwable cause) {
        super(Status.DATA_LOSS.withDescription(message), jobId, cause);
        this.fileName = fileName;
    }

    /** The artifact file that failed the check. */
    public String getFileName() {
        return fileName;
    }
}
