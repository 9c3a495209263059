package dev.distillbridge.spec;

/** Whether the server also produces an INT8 (dynamically quantized) model. */
public enum QuantType {
    /** fp32 model only. */
    NONE,
    /** fp32 model plus {@code model.int8.onnx}. */
    INT8;

}
