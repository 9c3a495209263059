package dev.distillbridge.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Objects;
import java.util.Optional;

/**
 * Every failure of the Distill Bridge client: a gRPC {@link Status} (the server's code and
 * message, or a local one such as {@code INVALID_ARGUMENT} for a bad builder), and the job id
 * when one is known.
 *
 * <p>A job that ends {@code FAILED} raises {@link Status.Code#ABORTED} with the job's error
 * text; a cancelled job raises {@link Status.Code#CANCELLED}.
 */
public class DistillException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Status status;
    private final String jobId;

    /**
     * @param status code and description; the description becomes the message
     * @param jobId the job concerned, or null
     * @param cause the underlying failure, or null
     */
    public DistillException(Status status, String jobId, Throwable cause) {
        super(message(status, jobId), cause);
        this.status = Objects.requireNonNull(status, "status");
        this.jobId = jobId;
    }

    /** Wraps a failed gRPC call, keeping the server's status and message. */
    public static DistillException fromRpc(StatusRuntimeException e, String jobId) {
        return new DistillException(e.getStatus(), jobId, e);
    }

    /** The status: the server's code and description, or a locally chosen one. */
    public Status getStatus() {
        return status;
    }

    /** Shorthand for {@code getStatus().getCode()}. */
    public Status.Code getStatusCode() {
        return status.getCode();
    }

    /** The job this failure concerns, when one was known. */
    public Optional<String> getJobId() {
        return Optional.ofNullable(jobId);
    }

    private static String message(Status status, String jobId) {
        StringBuilder sb = new StringBuilder(status.getCode().name());
        if (status.getDescription() != null) {
            sb.append(": ").append(status.getDescription());
        }
        if (jobId != null && !jobId.isEmpty()) {
            sb.append(" (job ").append(jobId).append(')');
        }
        return sb.toString();
    }
}
