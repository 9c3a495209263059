package dev.distillbridge.examples.spring;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/** Maps a caller's mistakes to RFC 9457 problem details with the model's message. */
@RestControllerAdvice
public class ApiErrors {

    /** Bad input: wrong feature count, text for a tabular model, an ambiguous request. */
    @ExceptionHandler({IllegalArgumentException.class, IllegalStateException.class})
    public ProblemDetail badRequest(RuntimeException e) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, e.getMessage());
    }
}
