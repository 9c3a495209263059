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
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        double max = logits.length == 0 ? 0 : logits[best];
        double[] exp = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            exp[i] = Math.exp(logits[i] - max);
            sum += exp[i];
        }
        float[] probabilities = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            probabilities[i] = (float) (exp[i] / sum);
        }
        String label = best < labels.size() ? labels.get(best) : Integer.toString(best);
        return new Prediction(label, best, probabilities, logits);
    }
}
