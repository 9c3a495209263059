package dev.distillbridge.spec;

import java.util.Arrays;

/** A multilayer-perceptron student: {@code new MlpConfig().setHiddenSizes(64, 32)}. */
public final class MlpConfig implements StudentConfig {
    private int[] hiddenSizes = new int[0];

    /** Widths of the hidden layers, input side first; at least one, each > 0. */
    public MlpConfig setHiddenSizes(int... hiddenSizes) {
        this.hiddenSizes = hiddenSizes == null ? new int[0] : hiddenSizes.clone();
        return this;
    }

    /** A copy of the hidden layer widths. */
    public int[] hiddenSizes() {
        return hiddenSizes.clone();
    }

    @Override
    public String toString() {
        return "MlpConfig" + Arrays.toString(hiddenSizes);
    }
}
