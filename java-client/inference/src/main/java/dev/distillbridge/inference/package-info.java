/**
 * Running a distilled artifact in this JVM, with ONNX Runtime and nothing of gRPC:
 * {@link dev.distillbridge.inference.DistilledModel} verifies an artifact directory when it
 * loads it (the manifest, the size and SHA-256 of every file, the golden vectors replayed) and
 * then predicts; {@link dev.distillbridge.inference.ArtifactManifest} reads manifest.json;
 * {@link dev.distillbridge.inference.DistilledModel#selfCheck()} re-checks a live model for a
 * health endpoint. A failed check or an ONNX Runtime failure is a
 * {@link dev.distillbridge.inference.ModelException} with a
 * {@link dev.distillbridge.inference.ModelException.Code}.
 *
 * <pre>{@code
 * try (DistilledModel model = DistilledModel.load(Path.of("/models/german-credit"))) {
 *     Prediction p = model.predict(features);
 *     System.out.println(p.label() + " " + p.confidence());
 * }
 * }</pre>
 */
package dev.distillbridge.inference;
