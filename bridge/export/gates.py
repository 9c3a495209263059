"""The artifact's gates and measurements, after training: each gate's outcome goes on record
in the manifest's verification section, and a failed gate fails the job (`GateError`) unless
the gate allows a way out (INT8 drop with fp32_fallback: the fp32 model ships alone)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from bridge.data.features import Features
from bridge.distill.trainer import accuracy
from bridge.errors import GateError
from bridge.export import manifest as mf
from bridge.export.onnx_export import embed_metadata
from bridge.export.quantize import quantize_int8
from bridge.export.verify import latency_ms, ort_logits
from bridge.spec import Gates

# What each gate measures, as a failure names it.
MEASURED = {
    "max_parity_error": "ONNX Runtime vs PyTorch on the test split",
    "max_int8_accuracy_drop": "fp32 minus INT8 test accuracy",
    "min_retention": "student/teacher test accuracy",
}


def record_gate(verification: dict, gate: str, measured: float, gates: Gates) -> bool:
    """Adds a gate's outcome to the manifest's verification section (a failure stays on record
    when the job survives it through fp32_fallback); returns whether it passed."""
    limit = getattr(gates, gate)
    passed = measured >= limit if gate == "min_retention" else measured <= limit
    verification["gates"].append(
        {"gate": gate, "measured": float(measured), "limit": float(limit), "passed": passed}
    )
    return passed


def enforce_gate(verification: dict, gate: str, measured: float, gates: Gates) -> None:
    """Records the gate's outcome; raises `GateError` when it failed."""
    if not record_gate(verification, gate, measured, gates):
        raise gate_error(gate, measured, gates)


def gate_error(gate: str, measured: float, gates: Gates) -> GateError:
    return GateError(gate, measured, getattr(gates, gate), MEASURED[gate])


def quantize(
    work: Path,
    fp32: Path,
    facts: dict,
    test: Features,
    y: np.ndarray,
    ops: list[str],
    gates: Gates,
    metrics: dict[str, float],
    verification: dict,
    stage: Callable[[str, str], None],
) -> bool:
    """Writes model.int8.onnx and scores it. Returns False when the INT8 gate failed and the
    caller allowed an fp32-only artifact."""
    stage("quantize", f"INT8 dynamic quantization of {'/'.join(ops)}")
    int8 = quantize_int8(fp32, work / mf.INT8_MODEL, ops)
    embed_metadata(int8, {**facts, "distillbridge.quantization": "int8"})
    metrics["student_int8_accuracy"] = accuracy(ort_logits(int8, test), y)
    drop = metrics["student_accuracy"] - metrics["student_int8_accuracy"]
    metrics["int8_accuracy_drop"] = drop
    if record_gate(verification, "max_int8_accuracy_drop", drop, gates):
        return True
    failed = gate_error("max_int8_accuracy_drop", drop, gates)
    if not gates.fp32_fallback:
        raise failed
    int8.unlink()
    del metrics["student_int8_accuracy"]
    metrics["int8_fallback"] = 1.0
    verification["gates"][-1]["action"] = "fp32_fallback: INT8 model dropped, fp32 shipped"
    stage("quantize", f"{failed}; shipping fp32 only (fp32_fallback)")
    return False


def model_files(quantized: bool) -> list[str]:
    return [mf.FP32_MODEL, mf.INT8_MODEL] if quantized else [mf.FP32_MODEL]


def size_and_latency(
    metrics: dict[str, float],
    work: Path,
    test: Features,
    quantized: bool,
    teacher_file_bytes: int,
    teacher_onnx: Path | None,
) -> None:
    """Sizes and single-row latencies of the shipped models and, when the teacher is an ONNX
    file (or the full self-distilled model), of the teacher: compression ratio and speedup."""
    sample = test.head(1)
    fp32, int8 = work / mf.FP32_MODEL, work / mf.INT8_MODEL
    metrics["teacher_file_bytes"] = teacher_file_bytes
    metrics["student_onnx_bytes"] = fp32.stat().st_size
    metrics["student_latency_ms"] = latency_ms(fp32, sample)
    if quantized:
        metrics["student_int8_onnx_bytes"] = int8.stat().st_size
        metrics["student_int8_latency_ms"] = latency_ms(int8, sample)
    shipped = metrics.get("student_int8_onnx_bytes", metrics["student_onnx_bytes"])
    teacher_bytes = teacher_file_bytes
    if teacher_onnx is not None and teacher_onnx.is_file():
        teacher_bytes = metrics["teacher_onnx_bytes"] = teacher_onnx.stat().st_size
        metrics["teacher_latency_ms"] = latency_ms(teacher_onnx, sample)
        metrics["speedup"] = metrics["teacher_latency_ms"] / metrics.get(
            "student_int8_latency_ms", metrics["student_latency_ms"]
        )
    metrics["compression_ratio"] = teacher_bytes / shipped
