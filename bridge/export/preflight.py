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

from bridge.errors import DistillError, GateError
from bridge.export.onnx_export import export_onnx
from bridge.export.verify import assert_cpu_runs, max_abs_diff, ort_logits, session

PREFLIGHT_BATCH_SIZES = (1, 3, 17)
PREFLIGHT_FILE = "preflight.onnx"


@dataclass(frozen=True)
class PreflightReport:
    batch_sizes: tuple[int, ...]
    parity_max_abs_diff: float
    operators: list[dict]
    seconds: float

    def to_dict(self) -> dict:
        return {**asdict(self), "batch_sizes": list(self.batch_sizes)}


def tabular_batches(
    x: np.ndarray, sizes: Sequence[int] = PREFLIGHT_BATCH_SIZES
) -> list[np.ndarray]:
    """Real rows, repeated as needed, at each batch size (float32, contiguous)."""
    return [np.ascontiguousarray(np.resize(x, (n, *x.shape[1:])), dtype=np.float32) for n in sizes]


def preflight(
    student: torch.nn.Module,
    batches: Sequence[np.ndarray],
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
    sizes = tuple(len(b) for b in batches)
    return PreflightReport(sizes, diff, operators, time.perf_counter() - t0)


def _compare(
    student: torch.nn.Module,
    path: Path,
    batches: Sequence[np.ndarray],
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
                f"pre-flight: ONNX Runtime cannot run the student at batch {n}: {e}"
            ) from e
        if got.shape != (n, num_classes):
            raise DistillError(
                f"pre-flight: batch {n} gave output shape {list(got.shape)}, "
                f"expected {[n, num_classes]}"
            )
        with torch.inference_mode():
            want = student(torch.from_numpy(x)).numpy()
        diff = max_abs_diff(got, want)
        if not diff <= max_parity_error:  # NaN fails too
            raise GateError(
                "max_parity_error",
                diff,
                max_parity_error,
                f"pre-flight: ONNX Runtime vs PyTorch on the untrained student at batch {n}",
            )
        worst = max(worst, diff)
    return worst
