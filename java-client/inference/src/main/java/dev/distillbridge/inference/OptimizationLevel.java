package dev.distillbridge.inference;

import ai.onnxruntime.OrtSession;

/** How much ONNX Runtime rewrites the graph when it opens a model (its graph optimization level). */
public enum OptimizationLevel {
    /** No rewriting: the graph runs as exported; the fastest load. */
    NONE(OrtSession.SessionOptions.OptLevel.NO_OPT),
    /** Constant folding and redundant-node removal. */
    BASIC(OrtSession.SessionOptions.OptLevel.BASIC_OPT),
    /** BASIC plus operator fusions (e.g. attention, GELU, layer norm). */
    EXTENDED(OrtSession.SessionOptions.OptLevel.EXTENDED_OPT),
    /** EXTENDED plus layout optimizations; ONNX Runtime's default and this library's. */
    ALL(OrtSession.SessionOptions.OptLevel.ALL_OPT);

    private final OrtSession.SessionOptions.OptLevel ort;

    OptimizationLevel(OrtSession.SessionOptions.OptLevel ort) {
        this.ort = ort;
    }

    OrtSession.SessionOptions.OptLevel ort() {
        return ort;
    }
}
