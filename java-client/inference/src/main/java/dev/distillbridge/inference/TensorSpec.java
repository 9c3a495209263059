package dev.distillbridge.inference;

import java.util.List;

/**
 * Name, element type and shape of a model input or output, as manifest.json states them.
 *
 * @param name the ONNX graph's input or output name
 * @param dtype element type, e.g. "float32"
 * @param shape dimensions; -1 marks a dynamic axis (the batch axis is always dynamic)
 */
public record TensorSpec(String name, String dtype, List<Long> shape) {
    public TensorSpec {
        shape = List.copyOf(shape);
    }

    /** The dimensions as an array, as ONNX Runtime takes them. */
    public long[] shapeArray() {
        long[] out = new long[shape.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = shape.get(i);
        }
        return out;
    }
}
