package dev.distillbridge.inference;

import java.util.Objects;
import java.util.Optional;

/**
 * A distilled model could not be trusted or run: an artifact that fails a check (a size or
 * SHA-256 that does not match, golden vectors the model does not reproduce, a manifest or
 * tokenizer that cannot be read) or ONNX Runtime failing. Unchecked; the {@link #code()} says
 * which, and the message names the file and the numbers.
 *
 * <p>Mistakes of the caller (a sample of the wrong width, text for a numeric model) are not
 * this exception but {@link IllegalArgumentException} / {@link IllegalStateException}.
 */
public class ModelException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What went wrong. */
    public enum Code {
        /** manifest.json is missing, not JSON, or lacks or mistypes a key it needs. */
        MANIFEST_INVALID,
        /** The artifact uses a format version, tokenizer, padding or dtype this library does not run. */
        UNSUPPORTED_FORMAT,
        /** A file name in the manifest would escape the artifact directory. */
        UNSAFE_FILE_NAME,
        /** A file the manifest lists is not there. */
        FILE_MISSING,
        /** A file's size differs from the manifest's. */
        SIZE_MISMATCH,
        /** A file's SHA-256 differs from the manifest's. */
        HASH_MISMATCH,
        /** The tokenizer file cannot be read, or disagrees with the manifest. */
        TOKENIZER_INVALID,
        /** The model (or, for text, the tokenizer) does not reproduce its golden vectors. */
        GOLDEN_MISMATCH,
        /** ONNX Runtime cannot load the model (e.g. an operator it does not support). */
        MODEL_LOAD_FAILED,
        /** ONNX Runtime could not start, or failed while running the model. */
        RUNTIME_FAILED
    }

    private final Code code;
    private final String fileName;

    /**
     * @param code what went wrong
     * @param fileName the artifact file concerned (e.g. {@code model.int8.onnx}), or null
     * @param message what failed, with the numbers
     */
    public ModelException(Code code, String fileName, String message) {
        this(code, fileName, message, null);
    }

    /** As {@link #ModelException(Code, String, String)}, with the underlying failure. */
    public ModelException(Code code, String fileName, String message, Throwable cause) {
        super(Objects.requireNonNull(code, "code").name() + ": " + message, cause);
        this.code = code;
        this.fileName = fileName;
    }

    /** What went wrong. */
    public Code code() {
        return code;
    }

    /** The artifact file concerned, when there is one. */
    public Optional<String> fileName() {
        return Optional.ofNullable(fileName);
    }

    /** The message without the leading code. */
    public String detail() {
        return getMessage().substring(code.name().length() + 2);
    }
}
