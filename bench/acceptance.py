"""Acceptance runs on full built-in datasets: does the student keep the teacher's accuracy at a
fraction of its size? Writes bench/results/acceptance.json and prints a table.

    .venv/bin/python bench/acceptance.py                 # both cases (fashion-mnist ~15 min)
    .venv/bin/python bench/acceptance.py german-credit   # one case

The first run trains the zoo teachers (cached under $DISTILL_BRIDGE_HOME afterwards).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from bridge import CnnConfig, Dataset, Distiller, MlpConfig, QuantType, TrainingParams

CASES = {
    # name: (teacher, student, params, min retention %, min compression)
    "german-credit": (
        "german-credit-mlp",
        MlpConfig((16,)),
        TrainingParams(epochs=60, learning_rate=1e-3, seed=42),
        98.0,
        10.0,
    ),
    "fashion-mnist": (
        "fashion-mnist-cnn",
        CnnConfig((16, 32)),
        TrainingParams(epochs=5, batch_size=64, learning_rate=2e-3, seed=42),
        97.0,
        10.0,
    ),
}
KEYS = (
    "teacher_accuracy",
    "student_accuracy",
    "student_int8_accuracy",
    "retention_pct",
    "compression_ratio",
    "teacher_onnx_bytes",
    "student_int8_onnx_bytes",
    "teacher_latency_ms",
    "student_int8_latency_ms",
    "train_seconds",
)


def run_case(name: str) -> dict:
    teacher, student, params, min_retention, min_compression = CASES[name]
    start = time.perf_counter()
    result = (
        Distiller()
        .set_teacher(teacher)
        .set_student_config(student)
        .enable_quantization(QuantType.INT8)
        .distill(Dataset.builtin(name), params)
    )
    m = result.metrics
    return {
        "dataset": name,
        "teacher": teacher,
        "wall_seconds": time.perf_counter() - start,
        "metrics": {k: m[k] for k in KEYS if k in m},
        "passed": m["retention_pct"] >= min_retention and m["compression_ratio"] >= min_compression,
        "criteria": {"min_retention_pct": min_retention, "min_compression": min_compression},
    }


def main(names: list[str]) -> int:
    results = [run_case(n) for n in names or list(CASES)]
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "acceptance.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'dataset':<15}{'teacher':>9}{'int8':>9}{'retain%':>9}{'smaller':>9}  verdict")
    for r in results:
        m = r["metrics"]
        print(
            f"{r['dataset']:<15}{m['teacher_accuracy']:>9.4f}{m['student_int8_accuracy']:>9.4f}"
            f"{m['retention_pct']:>9.1f}{m['compression_ratio']:>8.1f}x  "
            f"{'PASS' if r['passed'] else 'FAIL'}"
        )
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        sys.exit(main(sys.argv[1:]))
