package dev.distillbridge.client;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Collects local validation problems, each naming its field, and throws them all at once. */
final class Problems {
    private final List<String> messages = new ArrayList<>();

    void add(String field, String message) {
        messages.add(field + ": " + message);
    }

    void requirePositive(String field, Number value) {
        if (value != null && !(value.doubleValue() > 0)) {
            add(field, "must be > 0, got " + value);
        }
    }

    void requireFinitePositive(String field, Double value) {
        if (value != null && !(Double.isFinite(value) && value > 0)) {
            add(field, "must be finite and > 0, got " + value);
        }
    }

    void requireFiniteNonNegative(String field, Double value) {
        if (value != null && !(Double.isFinite(value) && value >= 0)) {
            add(field, "must be finite and >= 0, got " + value);
        }
    }

    void requireLayers(String field, int[] sizes, String what) {
        if (sizes.length == 0) {
            add(field, "must list at least one " + what);
        } else if (Arrays.stream(sizes).anyMatch(s -> s <= 0)) {
            add(field, "every " + what + " must be > 0, got " + Arrays.toString(sizes));
        }
    }

    /** Throws a {@link DistillException} with status INVALID_ARGUMENT listing every problem. */
    void throwIfAny() {
        throwIfAny(DistillException::invalidArgument);
    }

    /** Throws the exception {@code factory} makes from the joined problems, if there are any. */
    void throwIfAny(java.util.function.Function<String, ? extends RuntimeException> factory) {
        if (!messages.isEmpty()) {
            throw factory.apply(String.join("; ", messages));
        }
    }
}
