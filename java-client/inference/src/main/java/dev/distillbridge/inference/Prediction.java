package dev.distillbridge.inference;

import java.util.Arrays;

/**
 * The model's answer for one sample.
 *
 * @param label {@code labels[labelIndex]} from the manifest (the index as text when the
 *     manifest has no labels)
 * @param labelIndex argmax of the logits
 * @param probabilities softmax of the logits
 * @param logits the raw model output
 */
public record Prediction(String label, int labelIndex, float[] probabilities, float[] logits) {
    public Prediction {
        probabilities = probabilities.clone();
        logits = logits.clone();
    }

    /** A copy of the class probabilities. */
    @Override
    public float[] probabilities() {
        return probabilities.clone();
    }

    /** A copy of the logits. */
    @Override
    public float[] logits() {
        return logits.clone();
    }

    /** The probability of the predicted label. */
    public float confidence() {
        return probabilities[labelIndex];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Prediction p
                && labelIndex == p.labelIndex
                && label.equals(p.label)
                && Arrays.equals(probabilities, p.probabilities)
                && Arrays.equals(logits, p.logits);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * label.hashCode() + labelIndex) + Arrays.hashCode(logits);
    }

    @Override
    public String toString() {
        return "Prediction{label=" + label + ", labelIndex=" + labelIndex
                + ", probabilities=" + Arrays.toString(probabilities) + "}";
    }

    /** Builds a prediction from one row of logits: softmax for probabilities, argmax for the label. */
    static Prediction fromLogits(float[] logits, java.util.List<String> labels) {
        return fromLogits(logits, 0, logits.length, labels);
    }

    /** As {@link #fromLogits(float[], java.util.List)} for {@code logits[from, from + classes)}. */
    static Prediction fromLogits(float[] logits, int from, int classes, java.util.List<String> labels) {
        int best = argmax(logits, from, classes);
        return new Prediction(label(best, labels), best, softmax(logits, from, classes),
                Arrays.copyOfRange(logits, from, from + classes));
    }

    /** The index (relative to {@code from}) of the largest of {@code logits[from, from + n)}; 0 when empty. */
    static int argmax(float[] logits, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (logits[from + i] > logits[from + best]) {
                best = i;
            }
        }
        return best;
    }

    /** Softmax of {@code logits[from, from + n)}, computed in double. */
    static float[] softmax(float[] logits, int from, int n) {
        double max = n == 0 ? 0 : logits[from + argmax(logits, from, n)];
        double[] exp = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            exp[i] = Math.exp(logits[from + i] - max);
            sum += exp[i];
        }
        float[] probabilities = new float[n];
        for (int i = 0; i < n; i++) {
            probabilities[i] = (float) (exp[i] / sum);
        }
        return probabilities;
    }

    static String label(int index, java.util.List<String> labels) {
        return index < labels.size() ? labels.get(index) : Integer.toString(index);
    }
}
