package dev.distillbridge.spec;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.Consumer;

/**
 * The data a job trains and evaluates on: a server built-in ({@link #builtin(String)}), a
 * CSV / JSONL / NPZ file under the server's data root ({@link #fromPath(String)}), a local file
 * uploaded when the job is submitted ({@link #upload(Path)}) or an earlier upload
 * ({@link #uploaded(String)}). Immutable; the {@code with...} methods return copies.
 */
public final class Dataset {
    private final String builtin;
    private final String path;
    private final String uploadId;
    private final Path localFile;
    private final String labelColumn;
    private final String textColumn;
    private final String validationPath;
    private final String testPath;
    private final Double validationFraction;
    private final Double testFraction;
    private final String splitColumn;

    /** No source yet: what the factories start from. */
    private static final Dataset NONE = new Dataset(new Builder());

    private Dataset(Builder b) {
        this.builtin = b.builtin;
        this.path = b.path;
        this.uploadId = b.uploadId;
        this.localFile = b.localFile;
        this.labelColumn = b.labelColumn;
        this.textColumn = b.textColumn;
        this.validationPath = b.validationPath;
        this.testPath = b.testPath;
        this.validationFraction = b.validationFraction;
        this.testFraction = b.testFraction;
        this.splitColumn = b.splitColumn;
    }

    /** A built-in dataset by name, e.g. {@code "german-credit"} (see {@code listDatasets()}). */
    public static Dataset builtin(String name) {
        String value = requireText(name, "name");
        return NONE.with(b -> b.builtin = value);
    }

    /** A CSV, JSONL or NPZ file, as a path on the server under its data root. */
    public static Dataset fromPath(String serverPath) {
        String value = requireText(serverPath, "serverPath");
        return NONE.with(b -> b.path = value);
    }

    /** A local CSV, JSONL or NPZ file, uploaded in 256 KiB chunks when the job is submitted. */
    public static Dataset upload(Path localFile) {
        Path value = Objects.requireNonNull(localFile, "localFile");
        return NONE.with(b -> b.localFile = value);
    }

    /** A dataset file already stored on the server under this upload id. */
    public static Dataset uploaded(String uploadId) {
        String value = requireText(uploadId, "uploadId");
        return NONE.with(b -> b.uploadId = value);
    }

    /** A copy that reads the class label from this column (CSV / JSONL; default "label"). */
    public Dataset withLabelColumn(String column) {
        String value = requireText(column, "column");
        return with(b -> b.labelColumn = value);
    }

    /** A copy that reads raw text from this column, for text datasets. */
    public Dataset withTextColumn(String column) {
        String value = requireText(column, "column");
        return with(b -> b.textColumn = value);
    }

    /**
     * A copy whose validation rows are this file's (a server path under the data root, same
     * format and columns), used whole, instead of a cut from the training file.
     */
    public Dataset withValidationPath(String serverPath) {
        String value = requireText(serverPath, "serverPath");
        return with(b -> b.validationPath = value);
    }

    /** A copy whose test rows are this file's, used whole, instead of a cut from the training file. */
    public Dataset withTestPath(String serverPath) {
        String value = requireText(serverPath, "serverPath");
        return with(b -> b.testPath = value);
    }

    /**
     * A copy that cuts this share of the training file off for validation (stratified, seeded;
     * in (0, 0.5], default 0.15) where no validation file is given. The server refuses a share
     * beside the file that replaces it.
     */
    public Dataset withValidationFraction(double validation) {
        return with(b -> b.validationFraction = validation);
    }

    /** A copy that cuts this share of the training file off for test (see {@link #withValidationFraction}). */
    public Dataset withTestFraction(double test) {
        return with(b -> b.testFraction = test);
    }

    /**
     * A copy whose rows go where this column of the CSV / JSONL file says: {@code train},
     * {@code validation} (or {@code val}, {@code valid}, {@code dev}) or {@code test},
     * case-insensitive. The column is not a feature. Rows marked validation or test are used
     * whole; where the column marks none, that share is cut from the train rows (see
     * {@link #withValidationFraction}). The server refuses any other value (naming the row), a
     * split column beside {@link #withValidationPath} / {@link #withTestPath}, and one on a
     * built-in dataset or an NPZ file.
     */
    public Dataset withSplitColumn(String column) {
        String value = requireText(column, "column");
        return with(b -> b.splitColumn = value);
    }

    /** A copy of this dataset with one change. */
    private Dataset with(Consumer<Builder> change) {
        Builder b = new Builder();
        b.builtin = builtin;
        b.path = path;
        b.uploadId = uploadId;
        b.localFile = localFile;
        b.labelColumn = labelColumn;
        b.textColumn = textColumn;
        b.validationPath = validationPath;
        b.testPath = testPath;
        b.validationFraction = validationFraction;
        b.testFraction = testFraction;
        b.splitColumn = splitColumn;
        change.accept(b);
        return new Dataset(b);
    }

    /** Mutable scratch for the copy-on-write methods; never escapes. */
    private static final class Builder {
        private String builtin;
        private String path;
        private String uploadId;
        private Path localFile;
        private String labelColumn;
        private String textColumn;
        private String validationPath;
        private String testPath;
        private Double validationFraction;
        private Double testFraction;
        private String splitColumn;
    }

    /** The local file to upload, when this is one. */
    public Optional<Path> localFile() {
        return Optional.ofNullable(localFile);
    }

    /** The server's upload id, when this is one. */
    public Optional<String> uploadId() {
        return Optional.ofNullable(uploadId);
    }

    /** The built-in name, when this is a built-in dataset. */
    public Optional<String> builtinName() {
        return Optional.ofNullable(builtin);
    }

    /** The server-side path, when this is a file dataset. */
    public Optional<String> serverPath() {
        return Optional.ofNullable(path);
    }

    public Optional<String> labelColumn() {
        return Optional.ofNullable(labelColumn);
    }

    public Optional<String> textColumn() {
        return Optional.ofNullable(textColumn);
    }

    public Optional<String> validationPath() {
        return Optional.ofNullable(validationPath);
    }

    public Optional<String> testPath() {
        return Optional.ofNullable(testPath);
    }

    public OptionalDouble validationFraction() {
        return validationFraction == null ? OptionalDouble.empty() : OptionalDouble.of(validationFraction);
    }

    public OptionalDouble testFraction() {
        return testFraction == null ? OptionalDouble.empty() : OptionalDouble.of(testFraction);
    }

    /** The column named with {@link #withSplitColumn(String)}, when one was. */
    public Optional<String> splitColumn() {
        return Optional.ofNullable(splitColumn);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Dataset d
                && Objects.equals(builtin, d.builtin)
                && Objects.equals(path, d.path)
                && Objects.equals(uploadId, d.uploadId)
                && Objects.equals(localFile, d.localFile)
                && Objects.equals(labelColumn, d.labelColumn)
                && Objects.equals(textColumn, d.textColumn)
                && Objects.equals(validationPath, d.validationPath)
                && Objects.equals(testPath, d.testPath)
                && Objects.equals(validationFraction, d.validationFraction)
                && Objects.equals(testFraction, d.testFraction)
                && Objects.equals(splitColumn, d.splitColumn);
    }

    @Override
    public int hashCode() {
        return Objects.hash(builtin, path, uploadId, localFile, labelColumn, textColumn, validationPath, testPath,
                validationFraction, testFraction, splitColumn);
    }

    @Override
    public String toString() {
        String source = builtin != null ? "builtin:" + builtin
                : path != null ? "path:" + path
                : uploadId != null ? "upload:" + uploadId : "local:" + localFile;
        return "Dataset{" + source
                + (labelColumn != null ? ", labelColumn=" + labelColumn : "")
                + (textColumn != null ? ", textColumn=" + textColumn : "")
                + (validationPath != null ? ", validationPath=" + validationPath : "")
                + (testPath != null ? ", testPath=" + testPath : "")
                + (validationFraction != null ? ", validationFraction=" + validationFraction : "")
                + (testFraction != null ? ", testFraction=" + testFraction : "")
                + (splitColumn != null ? ", splitColumn=" + splitColumn : "") + "}";
    }

    private static String requireText(String value, String what) {
        Objects.requireNonNull(value, what);
        if (value.isBlank()) {
            throw new IllegalArgumentException(what + " must not be blank");
        }
        return value;
    }
}
