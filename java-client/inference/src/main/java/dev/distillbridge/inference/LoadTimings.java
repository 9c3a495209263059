package dev.distillbridge.inference;

import java.time.Duration;

/**
 * Where a {@link DistilledModel} load spent its time, for start-up logs and the cold-start
 * benchmark. The runtime's start overlaps reading and hashing the artifact, so the phases of
 * one load add up to {@link #total()}, not counting {@link #runtimeStart()}.
 *
 * @param verify reading manifest.json, and reading and checking the artifact's files (size, and
 *     SHA-256 for those the session uses, unless a record of an earlier check vouches for the
 *     unchanged file; the model's own SHA-256 runs on another thread while the session is
 *     created, and {@code golden} includes any wait for it)
 * @param runtimeWait how long the load then waited for ONNX Runtime to finish starting (zero
 *     when it had started before)
 * @param session creating the ONNX Runtime session from the model's bytes
 * @param golden the model's hash confirmed, then the golden vectors replayed (for text: tokenizer
 *     loaded and ids checked too)
 * @param total the whole load
 * @param runtimeStart how long ONNX Runtime's start took (native libraries, environment), in the
 *     background, whichever load began it; zero when this load found it started
 */
public record LoadTimings(Duration verify, Duration runtimeWait, Duration session, Duration golden, Duration total,
        Duration runtimeStart) {
}
