/**
 * Java client of Distill Bridge: describe a knowledge-distillation job with a fluent builder,
 * run it on a Distill Bridge server over gRPC, download the verified ONNX artifact and run it
 * in-process with ONNX Runtime.
 *
 * <pre>{@code
 * try (DistillBridge bridge = DistillBridge.connect("localhost:50051")) {
 *     DistillationResult result = bridge.newDistiller()
 *         .setTeacherModel("german-credit-mlp")
 *         .setStudentConfig(new MlpConfig().setHiddenSizes(16))
 *         .enableQuantization(QuantType.INT8)
 *         .onEvent(event -> System.out.println(event.summary()))
 *         .distill(Dataset.builtin("german-credit"), new TrainingParams().setEpochs(30));
 *     Path dir = result.download(Path.of("/tmp/credit-model"));
 *     try (DistilledModel model = DistilledModel.load(dir)) {
 *         Prediction p = model.predict(features);
 *     }
 * }
 * }</pre>
 *
 * <p>A text model (e.g. a MiniLM teacher distilled into a small Transformer) takes raw text:
 * {@code model.predict("my bag is lost again")} tokenizes in Java with the artifact's
 * {@code tokenizer.json} ({@link dev.distillbridge.client.WordPieceTokenizer}, pure Java, the
 * same ids as Python's Hugging Face tokenizers) and runs the model on the ids and mask.
 *
 * <p>Every failure surfaces as an unchecked {@link dev.distillbridge.client.DistillException}
 * carrying a gRPC {@link io.grpc.Status}; an artifact that fails its checks raises
 * {@link dev.distillbridge.client.ArtifactVerificationException}.
 */
package dev.distillbridge.client;
