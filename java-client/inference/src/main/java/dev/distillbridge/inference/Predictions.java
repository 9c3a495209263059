package dev.distillbridge.inference;

import java.util.AbstractList;
import java.util.List;
import java.util.Objects;
import java.util.RandomAccess;

/**
 * The model's answers for a batch: one immutable list backed by the batch's logits (one copy of
 * the model's output), so a batch costs no per-row objects unless a row is asked for as a
 * {@link Prediction}. The per-row accessors ({@link #label(int)}, {@link #confidence(int)}, ...)
 * read the logits directly.
 *
 * <pre>{@code
 * Predictions batch = model.predict(rows);
 * for (int i = 0; i < batch.size(); i++) {
 *     System.out.println(batch.label(i) + " " + batch.confidence(i));
 * }
 * }</pre>
 */
public final class Predictions extends AbstractList<Prediction> implements RandomAccess {
    private static final Predictions EMPTY = new Predictions(new float[0], 0, 0, List.of());

    private final float[] logits;
    private final int rows;
    private final int classes;
    private final List<String> labels;

    /** Takes ownership of {@code logits} (rows x classes, row-major); nobody else may write it. */
    Predictions(float[] logits, int rows, int classes, List<String> labels) {
        if (logits.length != rows * classes) {
            throw new IllegalArgumentException(logits.length + " logits are not " + rows + " rows of " + classes);
        }
        this.logits = logits;
        this.rows = rows;
        this.classes = classes;
        this.labels = Objects.requireNonNull(labels, "labels");
    }

    static Predictions empty() {
        return EMPTY;
    }

    @Override
    public int size() {
        return rows;
    }

    /** Row {@code row} as a {@link Prediction} (built on each call). */
    @Override
    public Prediction get(int row) {
        Objects.checkIndex(row, rows);
        return Prediction.fromLogits(logits, row * classes, classes, labels);
    }

    /** The number of classes (logits per row). */
    public int classes() {
        return classes;
    }

    /** The argmax of row {@code row}'s logits. */
    public int labelIndex(int row) {
        return Prediction.argmax(logits, offset(row), classes);
    }

    /** The label of row {@code row}: {@code labels[labelIndex(row)]}, or the index as text. */
    public String label(int row) {
        return Prediction.label(labelIndex(row), labels);
    }

    /** The softmax probability of row {@code row}'s predicted label. */
    public float confidence(int row) {
        int from = offset(row);
        int best = Prediction.argmax(logits, from, classes);
        double sum = 0;
        for (int i = from; i < from + classes; i++) {
            sum += Math.exp((double) logits[i] - logits[from + best]); // in double, as Prediction
        }
        return (float) (1 / sum);
    }

    /** A copy of row {@code row}'s logits. */
    public float[] logits(int row) {
        int from = offset(row);
        return java.util.Arrays.copyOfRange(logits, from, from + classes);
    }

    /** Row {@code row}'s class probabilities (softmax of its logits). */
    public float[] probabilities(int row) {
        return Prediction.softmax(logits, offset(row), classes);
    }

    private int offset(int row) {
        return Objects.checkIndex(row, rows) * classes;
    }
}
