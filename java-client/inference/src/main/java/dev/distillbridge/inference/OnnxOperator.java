package dev.distillbridge.inference;

/**
 * One operator of an artifact's ONNX graph, from the manifest's operator report.
 *
 * @param opType e.g. {@code Gemm}, {@code MatMulInteger}
 * @param domain e.g. {@code ai.onnx}, {@code com.microsoft}
 * @param opset the domain's opset the model imports (e.g. 18)
 * @param sinceVersion the operator version that opset resolves to (e.g. 13 for Gemm at 18)
 * @param count how many nodes use it
 * @param cpu whether ONNX Runtime's CPU provider runs it (the server refuses artifacts where
 *     any operator does not)
 * @param cpuVia how: {@code kernel}, {@code function} (expanded by ORT) or {@code initializer}
 */
public record OnnxOperator(String opType, String domain, int opset, int sinceVersion, int count, boolean cpu,
        String cpuVia) {
}
