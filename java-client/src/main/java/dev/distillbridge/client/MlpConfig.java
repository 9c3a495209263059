package dev.distillbridge.client;

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

    dev.distillbridge.proto.v1.MlpConfig toProto(Problems problems) {
        problems.requireLayers("student.mlp.hidden_sizes", hiddenSizes, "hidden size");
        var builder = dev.distillbridge.proto.v1.MlpConfig.newBuilder();
        Arrays.stream(hiddenSizes).forEach(builder::addHiddenSizes);
        return builder.build();
    }

    @Override
    public String toString() {
        return "MlpConfig" + Arrays.toString(hiddenSizes);
    }
}
