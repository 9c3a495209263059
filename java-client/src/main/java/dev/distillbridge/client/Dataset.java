package dev.distillbridge.client;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

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

    private Dataset(String builtin, String path, String uploadId, Path localFile, String labelColumn,
            String textColumn) {
        this.builtin = builtin;
        this.path = path;
        this.uploadId = uploadId;
        this.localFile = localFile;
        this.labelColumn = labelColumn;
        this.textColumn = textColumn;
    }

    /** A built-in dataset by name, e.g. {@code "german-credit"} (see {@code listDatasets()}). */
    public static Dataset builtin(String name) {
        return new Dataset(requireText(name, "name"), null, null, null, null, null);
    }

    /** A CSV, JSONL or NPZ file, as a path on the server under its data root. */
    public static Dataset fromPath(String serverPath) {
        return new Dataset(null, requireText(serverPath, "serverPath"), null, null, null, null);
    }

    /** A local CSV, JSONL or NPZ file, uploaded in 256 KiB chunks when the job is submitted. */
    public static Dataset upload(Path localFile) {
        return new Dataset(null, null, null, Objects.requireNonNull(localFile, "localFile"), null, null);
    }

    /** A dataset file already stored on the server under this upload id. */
    public static Dataset uploaded(String uploadId) {
        return new Dataset(null, null, requireText(uploadId, "uploadId"), null, null, null);
    }

    /** A copy that reads the class label from this column (CSV / JSONL; default "label"). */
    public Dataset withLabelColumn(String column) {
        return new Dataset(builtin, path, uploadId, localFile, requireText(column, "column"), textColumn);
    }

    /** A copy that reads raw text from this column, for text datasets. */
    public Dataset withTextColumn(String column) {
        return new Dataset(builtin, path, uploadId, localFile, labelColumn, requireText(column, "column"));
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

    dev.distillbridge.proto.v1.DatasetRef toProto() {
        var builder = dev.distillbridge.proto.v1.DatasetRef.newBuilder();
        if (builtin != null) {
            builder.setBuiltin(builtin);
        } else if (path != null) {
            builder.setPath(path);
        } else if (uploadId != null) {
            builder.setUploadId(uploadId);
        } // a local file gets its upload id when the job is submitted
        labelColumn().ifPresent(builder::setLabelColumn);
        textColumn().ifPresent(builder::setTextColumn);
        return builder.build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Dataset d
                && Objects.equals(builtin, d.builtin)
                && Objects.equals(path, d.path)
                && Objects.equals(uploadId, d.uploadId)
                && Objects.equals(localFile, d.localFile)
                && Objects.equals(labelColumn, d.labelColumn)
                && Objects.equals(textColumn, d.textColumn);
    }

    @Override
    public int hashCode() {
        return Objects.hash(builtin, path, uploadId, localFile, labelColumn, textColumn);
    }

    @Override
    public String toString() {
        String source = builtin != null ? "builtin:" + builtin
                : path != null ? "path:" + path
                : uploadId != null ? "upload:" + uploadId : "local:" + localFile;
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
