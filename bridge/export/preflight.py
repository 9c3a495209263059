"""Pre-flight: before any training, export the freshly built student, prove that ONNX Runtime's
CPU provider runs every operator, and compare ORT with PyTorch at several batch sizes.

A student that cannot export, uses an operator ORT cannot run, gives a wrong output shape, or
already disagrees with PyTorch beyond the parity gate fails here in seconds, with the
exporter's or the runtime's reason, instead of after training.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from bridge.data.features import Features
from bridge.errors import DistillError, GateError
from bridge.export.onnx_export import export_onnx
from bridge.export.verify import assert_cpu_runs, max_abs_diff, ort_logits, session

PREFLIGHT_BATCH_SIZES = (1, 3, 17)
PREFLIGHT_SEQUENCE_LENGTHS = (1, 7)
PREFLIGHT_FILE = "preflight.onnx"


@dataclass(frozen=True)
class PreflightReport:
    shapes: tuple[tuple[int, ...], ...]  # first input's shape in each batch
    parity_max_abs_diff: float
    operators: list[dict]
    seconds: float

    def to_dict(self) -> dict:
        return {**asdict(self), "shapes": [list(s) for s in self.shapes]}


def preflight_batches(example: Features) -> list[Features]:
    """Real rows, repeated as needed, at each batch size; for text also at several sequence
    lengths (token ids cut or tiled to length, all attended)."""
    batches = []
    for n in PREFLIGHT_BATCH_SIZES:
        rows = example.batch(np.resize(np.arange(len(example)), n))
        if not example.is_text:
            batches.append(Features(example.names, rows))
            continue
        for length in (*PREFLIGHT_SEQUENCE_LENGTHS, example.arrays[0].shape[1]):
            ids = np.ascontiguousarray(np.resize(rows[0], (n, length)))
            batches.append(Features(example.names, (ids, np.ones_like(ids))))
    return batches


def preflight(
    student: torch.nn.Module,
    batches: Sequence[Features],
    num_classes: int,
    work: Path,
    max_parity_error: float,
) -> PreflightReport:
    """Raises `DistillError` (cannot export / cannot run / wrong shape) or `GateError`
    (max_parity_error, measured on the untrained student). Leaves `student` in train mode."""
    t0 = time.perf_counter()
    path = work / PREFLIGHT_FILE
    try:
        try:
            export_onnx(student, batches[-1], path)
            operators = assert_cpu_runs(path)
        except DistillError as e:
            raise DistillError(f"pre-flight: {e}") from e
        diff = _compare(student, path, batches, num_classes, max_parity_error)
    finally:
        path.unlink(missing_ok=True)
        student.train()
    shapes = tuple(tuple(b.arrays[0].shape) for b in batches)
    return PreflightReport(shapes, diff, operators, time.perf_counter() - t0)


def _compare(
    student: torch.nn.Module,
    path: Path,
    batches: Sequence[Features],
    num_classes: int,
    max_parity_error: float,
) -> float:
    """Largest ORT-vs-PyTorch difference over the batches; fails on a shape or parity miss."""
    try:
        sess = session(path)
    except Exception as e:  # ORT raises several pybind types; its text is the reason
        raise DistillError(f"pre-flight: ONNX Runtime cannot load the student: {e}") from e
    student.eval()
    worst = 0.0
    for x in batches:
        n = len(x)
        try:
            got = ort_logits(sess, x)
        except Exception as e:
            raise DistillError(
                f"pre-flight: ONNX Runtime cannot run the student on inputs "
                f"{list(x.arrays[0].shape)}: {e}"
            ) from e
        if got.shape != (n, num_classes):
            raise DistillError(
                f"pre-flight: batch {n} gave output shape {list(got.shape)}, "
                f"expected {[n, num_classes]}"
            )
        with torch.inference_mode():
            want = student(*map(torch.from_numpy, x.arrays)).numpy()
        diff = max_abs_diff(got, want)
        if not diff <= max_parity_error:  # NaN fails too
            raise GateError(
                "max_parity_error",
                diff,
                max_parity_error,
                "pre-flight: ONNX Runtime vs PyTorch on the untrained student, inputs "
                f"{list(x.arrays[0].shape)}",
            )
        worst = max(worst, diff)
    return worst
