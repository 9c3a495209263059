package dev.distillbridge.client;

import java.util.Objects;
import java.util.Optional;

/**
 * The data a job trains and evaluates on: a server built-in ({@link #builtin(String)}) or a
 * CSV / JSONL / NPZ file under the server's data root ({@link #fromPath(String)}). Immutable;
 * the {@code with...} methods return copies.
 */
public final class Dataset {
    private final String builtin;
    private final String path;
    private final String labelColumn;
    private final String textColumn;

    private Dataset(String builtin, String path, String labelColumn, String textColumn) {
        this.builtin = builtin;
        this.path = path;
        this.labelColumn = labelColumn;
        this.textColumn = textColumn;
    }

    /** A built-in dataset by name, e.g. {@code "german-credit"} (see {@code listDatasets()}). */
    public static Dataset builtin(String name) {
        return new Dataset(requireText(name, "name"), null, null, null);
    }

    /** A CSV, JSONL or NPZ file, as a path on the server under its data root. */
    public static Dataset fromPath(String serverPath) {
        return new Dataset(null, requireText(serverPath, "serverPath"), null, null);
    }

    /** A copy that reads the class label from this column (CSV / JSONL; default "label"). */
    public Dataset withLabelColumn(String column) {
        return new Dataset(builtin, path, requireText(column, "column"), textColumn);
    }

    /** A copy that reads raw text from this column, for text datasets. */
    public Dataset withTextColumn(String column) {
        return new Dataset(builtin, path, labelColumn, requireText(column, "column"));
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

    dev.distillbridge.proto.v1.DatasetRef toProto() {
        var builder = dev.distillbridge.proto.v1.DatasetRef.newBuilder();
        if (builtin != null) {
            builder.setBuiltin(builtin);
        } else {
            builder.setPath(path);
        }
        labelColumn().ifPresent(builder::setLabelColumn);
        textColumn().ifPresent(builder::setTextColumn);
        return builder.build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Dataset d
                && Objects.equals(builtin, d.builtin)
                && Objects.equals(path, d.path)
                && Objects.equals(labelColumn, d.labelColumn)
                && Objects.equals(textColumn, d.textColumn);
    }

    @Override
    public int hashCode() {
        return Objects.hash(builtin, path, labelColumn, textColumn);
    }

    @Override
    public String toString() {
        String source = builtin != null ? "builtin:" + builtin : "path:" + path;
        return "Dataset{" + source
                + (labelColumn != null ? ", labelColumn=" + labelColumn : "")
                + (textColumn != null ? ", textColumn=" + textColumn : "") + "}";
    }

    private static String requireText(String value, String what) {
        Objects.requireNonNull(value, what);
        if (value.isBlank()) {
            throw new IllegalArgumentException(what + " must not be blank");
        }
        return value;
    }
}
