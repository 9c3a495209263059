package dev.distillbridge.spec;

import java.util.Arrays;

/**
 * A convolutional student: one conv -> ReLU -> 2x2 max-pool block per entry of
 * {@link #setChannels(int...)}: {@code new CnnConfig().setChannels(16, 32).setKernelSize(3)}.
 */
public final class CnnConfig implements StudentConfig {
    private int[] channels = new int[0];
    private int kernelSize;

    /** Output channels of each conv block; at least one, each > 0. */
    public CnnConfig setChannels(int... channels) {
        this.channels = channels == null ? new int[0] : channels.clone();
        return this;
    }

    /** Odd kernel size; 0 (the default) lets the server choose (3). */
    public CnnConfig setKernelSize(int kernelSize) {
        this.kernelSize = kernelSize;
        return this;
    }

    /** A copy of the channel counts. */
    public int[] channels() {
        return channels.clone();
    }

    /** The kernel size, 0 for the server default. */
    public int kernelSize() {
        return kernelSize;
    }

    @Override
    public String toString() {
        return "CnnConfig{channels=" + Arrays.toString(channels) + ", kernelSize=" + kernelSize + "}";
    }
}
