"""Proof that an exported file behaves: ONNX Runtime outputs, parity against PyTorch, golden
vectors, accuracy on the test split, and latency."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from bridge.data.features import Features

GOLDEN_VECTOR_COUNT = 4
GOLDEN_ATOL = 1e-5


def session(path: Path, threads: int = 0) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def ort_logits(
    path: Path | ort.InferenceSession, features: Features, batch: int = 256
) -> np.ndarray:
    sess = path if isinstance(path, ort.InferenceSession) else session(path)
    outs = [
        sess.run(None, features.feed(slice(i, i + batch)))[0]
        for i in range(0, len(features), batch)
    ]
    return np.concatenate(outs)


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def golden_vectors(path: Path, features: Features, texts: list[str] | None = None) -> dict:
    """A few inputs with the outputs Python's ONNX Runtime gives on this exact file; any
    runtime that loads the artifact replays them (Java's DistilledModel does). Text vectors
    also carry the raw texts, so a loader proves its tokenizer gives the same ids."""
    rows = slice(0, GOLDEN_VECTOR_COUNT)
    feed = features.feed(rows)
    outputs = session(path).run(None, feed)[0]
    vectors: dict = {"input_shape": list(next(iter(feed.values())).shape)}
    if features.is_text:
        vectors["texts"] = list(texts or [])[:GOLDEN_VECTOR_COUNT]
        vectors.update({name: arr.reshape(-1).tolist() for name, arr in feed.items()})
    else:
        vectors["input"] = next(iter(feed.values())).reshape(-1).astype(float).tolist()
    vectors.update(
        output_shape=list(outputs.shape),
        output=outputs.reshape(-1).astype(float).tolist(),
        atol=GOLDEN_ATOL,
    )
    return vectors


def replay_golden_vectors(path: Path, vectors: dict) -> float:
    """Runs the golden inputs through `path`; the largest difference from the golden outputs."""
    shape = vectors["input_shape"]
    if "input_ids" in vectors:
        feed = {
            name: np.asarray(vectors[name], dtype=np.int64).reshape(shape)
            for name in ("input_ids", "attention_mask")
        }
    else:
        feed = {
            session(path).get_inputs()[0].name: np.asarray(
                vectors["input"], dtype=np.float32
            ).reshape(shape)
        }
    want = np.asarray(vectors["output"]).reshape(vectors["output_shape"])
    return max_abs_diff(session(path).run(None, feed)[0], want)


def latency_ms(path: Path, sample: Features, runs: int = 200) -> float:
    """Median single-thread latency of one-sample inference, in milliseconds."""
    sess = session(path, threads=1)
    feed = sample.feed(slice(0, 1))
    for _ in range(20):
        sess.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def operator_report(path: Path) -> list[dict]:
    """Operators in the graph with their domain and the opset they are resolved against."""
    model = onnx.load(str(path))
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    seen: dict[tuple[str, str], int] = {}
    for node in model.graph.node:
        key = (node.domain or "ai.onnx", node.op_type)
        seen[key] = seen.get(key, 0) + 1
    return [
        {"op_type": op, "domain": dom, "opset": opsets.get(dom), "count": n}
        for (dom, op), n in sorted(seen.items())
    ]
