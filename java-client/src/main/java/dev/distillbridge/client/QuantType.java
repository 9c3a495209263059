package dev.distillbridge.client;

/** Whether the server also produces an INT8 (dynamically quantized) model. */
public enum QuantType {
    /** fp32 model only. */
    NONE,
    /** fp32 model plus {@code model.int8.onnx}. */
    INT8;

    dev.distillbridge.proto.v1.QuantType toProto() {
        return this == INT8
                ? dev.distillbridge.proto.v1.QuantType.QUANT_TYPE_INT8
                : dev.distillbridge.proto.v1.QuantType.QUANT_TYPE_NONE;
    }
}
