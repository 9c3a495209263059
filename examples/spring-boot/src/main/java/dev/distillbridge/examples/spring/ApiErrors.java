package dev.distillbridge.examples.spring;

import dev.distillbridge.client.DistillException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/** Maps the client's exceptions to RFC 9457 problem details with the client's message. */
@RestControllerAdvice
public class ApiErrors {

    /** Bad input: wrong feature count, text for a tabular model, a refused distillation description. */
    @ExceptionHandler({IllegalArgumentException.class, IllegalStateException.class})
    public ProblemDetail badRequest(RuntimeException e) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, e.getMessage());
    }

    /** A gRPC status from the Distill Bridge server (or a local check), as the closest HTTP status. */
    @ExceptionHandler(DistillException.class)
    public ProblemDetail distillFailure(DistillException e) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(httpStatus(e), e.getMessage());
        problem.setProperty("grpcStatus", e.getStatusCode().name());
        e.getJobId().ifPresent(id -> problem.setProperty("jobId", id));
        return problem;
    }

    static HttpStatus httpStatus(DistillException e) {
        return switch (e.getStatusCode()) {
            case INVALID_ARGUMENT, OUT_OF_RANGE, FAILED_PRECONDITION -> HttpStatus.BAD_REQUEST;
            case NOT_FOUND -> HttpStatus.NOT_FOUND;
            case UNAUTHENTICATED, PERMISSION_DENIED -> HttpStatus.BAD_GATEWAY; // our credentials, not the caller's
            case RESOURCE_EXHAUSTED -> HttpStatus.TOO_MANY_REQUESTS;
            case UNAVAILABLE -> HttpStatus.SERVICE_UNAVAILABLE;
            case DEADLINE_EXCEEDED -> HttpStatus.GATEWAY_TIMEOUT;
            default -> HttpStatus.INTERNAL_SERVER_ERROR;
        };
    }
}
