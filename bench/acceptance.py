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

from bridge import (
    CnnConfig,
    Dataset,
    Distiller,
    Event,
    LogEvent,
    MlpConfig,
    QuantType,
    StageEvent,
    TrainingParams,
    TransformerConfig,
    ValidationEvent,
)

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
    # MiniLM-L6 (fine-tuned by the bridge) -> 2-layer student initialised from its layers.
    "airline-sentiment": (
        "minilm-l6",
        TransformerConfig(
            layers=2, hidden_size=384, heads=12, intermediate_size=1536, max_seq_len=64
        ),
        TrainingParams(
            epochs=3, batch_size=32, learning_rate=1e-4, temperature=4.0, alpha=0.7, seed=42
        ),
        96.0,
        5.0,
    ),
}
KEYS = (
    "teacher_accuracy",
    "student_accuracy",
    "student_int8_accuracy",
    "retention_pct",
    "compression_ratio",
    "teacher_prep_test_accuracy",
    "teacher_prep_seconds",
    "teacher_cache_seconds",
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
        .on_event(_progress)
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


def _progress(event: Event) -> None:
    if isinstance(event, StageEvent | LogEvent | ValidationEvent):
        print(f"  {event}", flush=True)


def main(names: list[str]) -> int:
    fresh = {r["dataset"]: r for r in (run_case(n) for n in names or list(CASES))}
    out = Path(__file__).parent / "results" / "acceptance.json"
    out.parent.mkdir(exist_ok=True)
    earlier = json.loads(out.read_text()) if out.is_file() else []
    results = [fresh.pop(r["dataset"], r) for r in earlier] + list(fresh.values())
    out.write_text(json.dumps(results, indent=2) + "\n")
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
