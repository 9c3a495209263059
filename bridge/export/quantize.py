"""INT8 by dynamic quantization of MatMul/Gemm only: Conv would become the slow ConvInteger,
so CNN convolutions stay fp32 and their dense layers are quantized."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import onnx

from bridge.errors import DistillError

QUANTIZED_OPS = ["MatMul", "Gemm"]
# Text students: the token embedding is most of the weights, so its Gather is quantized too.
TEXT_QUANTIZED_OPS = ["MatMul", "Gemm", "Gather"]
# What the child process reports (bridge/export/_quantize_child.py), in its scratch directory.
OUTCOME = "outcome.json"
log = logging.getLogger("bridge.export.quantize")


def recipe(op_types: list[str]) -> dict:
    return {**RECIPE, "op_types": op_types}


RECIPE = {
    "type": "int8",
    "method": "dynamic",
    "op_types": QUANTIZED_OPS,
    "weight_type": "QInt8",
    "activation_type": "QUInt8 (dynamic, per batch)",
    "per_channel": False,
    "pre_process": "onnxruntime quant_pre_process",
}


def quantize_int8(fp32_path: Path, out_path: Path, op_types: list[str] = QUANTIZED_OPS) -> Path:
    with tempfile.TemporaryDirectory(prefix="quant-") as tmp:
        source = Path(tmp) / "source.onnx"
        onnx.save(_without_initializer_value_info(onnx.load(str(fp32_path))), str(source))
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bridge.export._quantize_child",
                str(source),
                str(out_path.resolve()),
                ",".join(op_types),
            ],
            cwd=tmp,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": _root()},
        )
        outcome = _outcome(Path(tmp) / OUTCOME)
    notes = outcome.get("notes") or []
    if done.returncode != 0:
        log.warning("INT8 quantization failed; the quantizer's output:\n%s", done.stderr[-20000:])
        reason = outcome.get("error") or done.stderr.strip()[-2000:]
        after = f" (after: {'; '.join(notes)})" if notes else ""
        raise DistillError(f"INT8 quantization failed: {reason}{after}")
    for note in notes:
        log.warning("INT8 quantization of %s: %s", fp32_path.name, note)
    return out_path


def _outcome(path: Path) -> dict:
    """What the child reported; empty when it died before it could."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _without_initializer_value_info(model: onnx.ModelProto) -> onnx.ModelProto:
    """The dynamo exporter records each weight's shape in value_info; once quantization
    rewrites a weight those entries go stale and shape inference rejects the model."""
    weights = {t.name for t in model.graph.initializer}
    kept = [v for v in model.graph.value_info if v.name not in weights]
    del model.graph.value_info[:]
    model.graph.value_info.extend(kept)
    return model


def _root() -> str:
    """The directory holding the `bridge` package, so the child imports this very copy."""
    import bridge

    return str(Path(bridge.__file__).resolve().parent.parent)
