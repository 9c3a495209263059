package dev.distillbridge.client.internal;

import dev.distillbridge.client.DistillException;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.function.Function;

/** Collects local validation problems, each naming its field, and throws them all at once. */
public final class Problems {
    private final List<String> messages = new ArrayList<>();

    public void add(String field, String message) {
        messages.add(field + ": " + message);
    }

    public void requirePositive(String field, Number value) {
        if (value != null && !(value.doubleValue() > 0)) {
            add(field, "must be > 0, got " + value);
        }
    }

    public void requirePositive(String field, OptionalInt value) {
        value.ifPresent(v -> requirePositive(field, v));
    }

    public void requireFinitePositive(String field, OptionalDouble value) {
        value.ifPresent(v -> {
            if (!(Double.isFinite(v) && v > 0)) {
                add(field, "must be finite and > 0, got " + v);
            }
        });
    }

    public void requireFiniteNonNegative(String field, OptionalDouble value) {
        value.ifPresent(v -> {
            if (!(Double.isFinite(v) && v >= 0)) {
                add(field, "must be finite and >= 0, got " + v);
            }
        });
    }

    public void requireLayers(String field, int[] sizes, String what) {
        if (sizes.length == 0) {
            add(field, "must list at least one " + what);
        } else if (Arrays.stream(sizes).anyMatch(s -> s <= 0)) {
            add(field, "every " + what + " must be > 0, got " + Arrays.toString(sizes));
        }
    }

    /** Throws a {@link DistillException} with status INVALID_ARGUMENT listing every problem. */
    public void throwIfAny() {
        throwIfAny(message -> new DistillException(Status.INVALID_ARGUMENT.withDescription(message), null, null));
    }

    /** Throws the exception {@code factory} makes from the joined problems, if there are any. */
    public void throwIfAny(Function<String, ? extends RuntimeException> factory) {
        if (!messages.isEmpty()) {
            throw factory.apply(String.join("; ", messages));
        }
    }
}
