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
 *
 * <p>{@link dev.distillbridge.inference.DistilledModel#builder(java.nio.file.Path)} chooses the
 * precision and session options (intra-op threads, {@link dev.distillbridge.inference.OptimizationLevel});
 * a batch comes back as {@link dev.distillbridge.inference.Predictions}, one array of logits with
 * per-row accessors. A caller's mistake (text for a numeric model, features for a text model, a
 * sample of the wrong width) is an {@link IllegalArgumentException} naming what was expected
 * and what was given.
 *
 * <p>Start-up: ONNX Runtime's native libraries are extracted once per ORT jar into a private
 * cache ({@code ~/.cache/distill-bridge/onnxruntime}, or {@code $XDG_CACHE_HOME}), checked at
 * each start (file identity, else SHA-256) and loaded from there; ONNX Runtime starts on a
 * thread of its own while the first load reads and hashes the artifact, and the session is
 * created from the very bytes that were hashed. {@code -Ddistillbridge.onnxruntime.cache=DIR}
 * moves the cache, {@code =off} leaves extraction to ONNX Runtime, and a JVM started with ORT's
 * own {@code -Donnxruntime.native.path} is left alone. A load that hashed a file records the
 * check (the file's identity and a CRC-32C of its bytes) in {@code ~/.cache/distill-bridge/verified};
 * a later load of the same, unchanged file trusts that record instead of hashing it again
 * ({@code -Ddistillbridge.verification.cache=DIR} moves the records, {@code =off} or
 * {@link dev.distillbridge.inference.DistilledModel.Builder#hashEveryLoad()} hashes every load;
 * {@link dev.distillbridge.inference.DistilledModel#selfCheck()} always hashes).
 * {@link dev.distillbridge.inference.DistilledModel#loadTimings()} says where a load spent its
 * time.
 */
package dev.distillbridge.inference;
