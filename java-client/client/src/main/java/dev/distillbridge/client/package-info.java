/**
 * The entry points of the Distill Bridge client: connect to a server ({@link
 * dev.distillbridge.client.DistillBridge}), describe a distillation with a fluent builder
 * ({@link dev.distillbridge.client.Distiller}), run it blocking or in the background
 * ({@link dev.distillbridge.client.DistillationJob}), and download the verified artifact
 * ({@link dev.distillbridge.client.DistillationResult}).
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
 * <p>The layout of the client:
 * <ul>
 *   <li>{@code dev.distillbridge.client}: connections, jobs, results, events and
 *       {@link dev.distillbridge.client.DistillException} (this package);</li>
 *   <li>{@link dev.distillbridge.spec}: the job description's values (student configs,
 *       training parameters, datasets, teachers, gates, schedules);</li>
 *   <li>{@link dev.distillbridge.inference} and {@link dev.distillbridge.tokenizer} (module
 *       {@code distill-bridge-inference}): running the artifact, no gRPC needed;</li>
 *   <li>{@link dev.distillbridge.debug}: the Py4J connection to a local debug server;</li>
 *   <li>{@link dev.distillbridge.client.internal} and the generated
 *       {@link dev.distillbridge.proto.v1}: gRPC plumbing and wire messages, not API.</li>
 * </ul>
 *
 * <p>Every failure of a call to the server surfaces as an unchecked
 * {@link dev.distillbridge.client.DistillException} carrying a gRPC {@link io.grpc.Status}; an
 * artifact that fails its checks on download raises
 * {@link dev.distillbridge.client.ArtifactVerificationException}. Loading and running a model
 * raises the inference module's {@link dev.distillbridge.inference.ModelException}.
 */
package dev.distillbridge.client;
