package dev.distillbridge.inference;

/** Which model of an artifact {@link DistilledModel} opens. */
public enum Precision {
    /** {@code models.fp32}, always present. */
    FP32("fp32"),
    /** {@code models.int8}, present when the job asked for INT8 quantization. */
    INT8("int8");

    private final String manifestKey;

    Precision(String manifestKey) {
        this.manifestKey = manifestKey;
    }

    /** The key of this model under {@code models} in manifest.json. */
    public String manifestKey() {
        return manifestKey;
    }
}
