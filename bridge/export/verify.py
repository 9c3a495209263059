"""Proof that an exported file behaves: ONNX Runtime outputs, parity against PyTorch, golden
vectors, accuracy on the test split, and latency."""

from __future__ import annotations

import functools
import statistics
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from bridge.data.features import Features
from bridge.errors import DistillError, first_line

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
    sess = session(path)
    shape = vectors["input_shape"]
    if "input_ids" in vectors:
        feed = {
            name: np.asarray(vectors[name], dtype=np.int64).reshape(shape)
            for name in ("input_ids", "attention_mask")
        }
    else:
        feed = {
            sess.get_inputs()[0].name: np.asarray(vectors["input"], dtype=np.float32).reshape(shape)
        }
    want = np.asarray(vectors["output"]).reshape(vectors["output_shape"])
    return max_abs_diff(sess.run(None, feed)[0], want)


def latency_ms(path: Path, sample: Features, runs: int = 200) -> float:
    """Median single-thread latency of one-sample inference, in milliseconds."""
    sess = session(path, threads=1)
    # by position: a user's teacher names its inputs its own way ("X", "float_input")
    names = [i.name for i in sess.get_inputs()]
    feed = dict(zip(names, sample.batch(slice(0, 1)), strict=True))
    for _ in range(20):
        sess.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def operator_report(path: Path) -> list[dict]:
    """Every operator of the graph with its domain, the opset it resolves against, its count,
    and whether ONNX Runtime's CPU provider registers a kernel for that operator version.

    The per-operator flag comes from ORT's own kernel registry; `assert_cpu_runs` adds the
    whole-graph proof (a CPU-only session with graph rewrites off must place every node)."""
    model = onnx.load(str(path))
    opsets = {o.domain or ONNX_DOMAIN: o.version for o in model.opset_import}
    counts: dict[tuple[str, str], int] = {}
    for node in model.graph.node:
        key = (node.domain or ONNX_DOMAIN, node.op_type)
        counts[key] = counts.get(key, 0) + 1
    report = []
    for (domain, op), n in sorted(counts.items()):
        opset = opsets.get(domain)
        version = _since_version(op, domain, opset)
        via = _cpu_route(op, domain, version)
        report.append(
            {
                "op_type": op,
                "domain": domain,
                "opset": opset,
                "since_version": version,
                "count": n,
                "cpu": via is not None,
                "cpu_via": via,
            }
        )
    return report


def assert_cpu_runs(path: Path) -> list[dict]:
    """The operator report of `path`, after proving that ONNX Runtime's CPU provider runs every
    node: it creates a CPU-only session with graph optimizations disabled (so no rewrite can
    hide an operator) and refuses any operator without a CPU kernel. Raises `DistillError`
    naming the operators and ORT's reason."""
    report = operator_report(path)
    missing = [
        f"{o['domain']}::{o['op_type']} (opset {o['opset']})" for o in report if not o["cpu"]
    ]
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # ORT raises several pybind types; its text is the reason
        reason = first_line(str(e)) or type(e).__name__
        raise DistillError(
            f"ONNX Runtime's CPU provider cannot run {path.name}: {reason}"
            + (f"; operators without a CPU kernel: {', '.join(missing)}" if missing else "")
        ) from e
    if missing:
        raise DistillError(
            f"ONNX Runtime's CPU provider has no kernel for {', '.join(missing)} in {path.name}"
        )
    return report


ONNX_DOMAIN = "ai.onnx"
_ONNX_SCHEMA_DOMAINS = {ONNX_DOMAIN: "", "ai.onnx.ml": "ai.onnx.ml"}


def _since_version(op: str, domain: str, opset: int | None) -> int | None:
    """The operator version a node resolves to: for ONNX domains the newest schema at or below
    the model's opset; for others (com.microsoft, ...) the imported opset version itself."""
    if opset is None:
        return None
    if domain not in _ONNX_SCHEMA_DOMAINS:
        return opset
    try:
        return onnx.defs.get_schema(op, opset, _ONNX_SCHEMA_DOMAINS[domain]).since_version
    except onnx.defs.SchemaError:
        return None


@functools.cache
def _cpu_kernels() -> dict[tuple[str, str], tuple[tuple[int, int], ...]]:
    """ONNX Runtime's CPU kernel registry: (domain, op) -> version ranges it covers."""
    from onnxruntime.capi import _pybind_state

    table: dict[tuple[str, str], set[tuple[int, int]]] = {}
    for k in _pybind_state.get_all_opkernel_def():
        if k.provider == "CPUExecutionProvider":
            key = (k.domain or ONNX_DOMAIN, k.op_name)
            table.setdefault(key, set()).add(tuple(k.version_range))
    return {key: tuple(sorted(ranges)) for key, ranges in table.items()}


def _cpu_route(op: str, domain: str, version: int | None) -> str | None:
    """How ONNX Runtime's CPU provider runs an operator version: "kernel" (registered),
    "function" (an ONNX function op that ORT expands into other operators, e.g. HardSwish),
    "initializer" (Constant, folded at load), or None (it cannot)."""
    if version is None:
        return None
    if any(lo <= version <= hi for lo, hi in _cpu_kernels().get((domain, op), ())):
        return "kernel"
    if domain == ONNX_DOMAIN and op == "Constant":
        return "initializer"
    if domain in _ONNX_SCHEMA_DOMAINS:
        schema = onnx.defs.get_schema(op, version, _ONNX_SCHEMA_DOMAINS[domain])
        if schema.has_function or schema.has_context_dependent_function:
            return "function"
    return None
