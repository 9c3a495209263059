package dev.distillbridge.client;

import dev.distillbridge.inference.ModelException;
import io.grpc.Status;

/**
 * An artifact failed a check on its way to this JVM: a downloaded file whose size or SHA-256
 * does not match, a manifest that cannot be read. Its status is always
 * {@link Status.Code#DATA_LOSS}, and the message names the file and the numbers. When the
 * check was one of {@code distill-bridge-inference}'s, its {@link ModelException} is the cause.
 *
 * <p>Loading a model ({@link dev.distillbridge.inference.DistilledModel#load}) raises
 * {@link ModelException} itself: the inference module knows nothing of gRPC.
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

    /**
     * @param fileName the file that failed
     * @param message what failed, with the numbers
     * @param jobId the job whose artifact it is, or null
     * @param cause the underlying failure, or null
     */
    public ArtifactVerificationException(String fileName, String message, String jobId, Throwable cause) {
        super(Status.DATA_LOSS.withDescription(message), jobId, cause);
        this.fileName = fileName;
    }

    /** The inference module's failed check, as the client's exception (its message, this job). */
    public static ArtifactVerificationException of(ModelException failure, String jobId) {
        return new ArtifactVerificationException(failure.fileName().orElse(""), failure.detail(), jobId, failure);
    }

    /** The artifact file that failed the check. */
    public String getFileName() {
        return fileName;
    }
}
