"""Acceptance runs on full built-in datasets: does the student keep the teacher's accuracy at a
fraction of its size? Writes bench/results/acceptance.json and prints a table.

    PYTHONPATH=. .venv/bin/python bench/acceptance.py                # every case (MiniLM: hours)
    PYTHONPATH=. .venv/bin/python bench/acceptance.py german-credit  # one case

The first run trains the zoo teachers (cached under $DISTILL_BRIDGE_HOME afterwards). A run of
some cases keeps the others' earlier results; each case records its own date.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

from bridge import (  # noqa: E402
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
        "date": c.machine_facts()["date"],
    }


def _progress(event: Event) -> None:
    if isinstance(event, StageEvent | LogEvent | ValidationEvent):
        print(f"  {event}", flush=True)


def main(names: list[str] | None = None) -> int:
    out = c.RESULTS / "acceptance.json"
    fresh = {r["dataset"]: r for r in (run_case(n) for n in names or list(CASES))}
    earlier = _cases(json.loads(out.read_text())) if out.is_file() else []
    cases = [fresh.pop(r["dataset"], r) for r in earlier] + list(fresh.values())
    c.write_result("acceptance", {"cases": cases})
    print(f"{'dataset':<18}{'teacher':>9}{'int8':>9}{'retain%':>9}{'smaller':>9}  verdict")
    for r in cases:
        m = r["metrics"]
        print(
            f"{r['dataset']:<18}{m['teacher_accuracy']:>9.4f}{m['student_int8_accuracy']:>9.4f}"
            f"{m['retention_pct']:>9.1f}{m['compression_ratio']:>8.1f}x  "
            f"{'PASS' if r['passed'] else 'FAIL'}"
        )
    return 0 if all(r["passed"] for r in cases) else 1


def _cases(result: dict | list) -> list[dict]:
    """The cases of a result file; files written before write_result were a bare list."""
    return result if isinstance(result, list) else result.get("cases", [])


def report(result: dict | list, plots: Path) -> str:
    cases = _cases(result)
    if not cases:
        return "No cases recorded."
    plot = _plot_size_accuracy(cases, plots / "acceptance_size_accuracy.png")
    met = sum(r["passed"] for r in cases)
    lines = [
        "Does the INT8 student keep the teacher's test accuracy at a fraction of its size? "
        "Goal per task: retention (INT8 student accuracy / teacher accuracy) and compression "
        "(teacher ONNX bytes / INT8 student bytes) at or above the task's bar.",
        "",
        f"**{met} of {len(cases)} tasks met both goals.**",
        "",
        "| task | teacher | accuracy: teacher -> INT8 student | retention (goal) "
        "| size: teacher -> INT8 student | compression (goal) | latency: teacher / student "
        "| verdict | date |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in cases:
        m, goal = r["metrics"], r["criteria"]
        retained = m["retention_pct"] >= goal["min_retention_pct"]
        smaller = m["compression_ratio"] >= goal["min_compression"]
        lines.append(
            f"| {r['dataset']} | {r['teacher']} "
            f"| {m['teacher_accuracy']:.4f} -> {m['student_int8_accuracy']:.4f} "
            f"| {m['retention_pct']:.1f}% (>= {goal['min_retention_pct']:g}%: "
            f"{'met' if retained else 'missed'}) "
            f"| {_size(m.get('teacher_onnx_bytes'))} -> {_size(m.get('student_int8_onnx_bytes'))} "
            f"| {m['compression_ratio']:.1f}x (>= {goal['min_compression']:g}x: "
            f"{'met' if smaller else 'missed'}) "
            f"| {_latency(m)} | {'**met**' if r['passed'] else '**missed**'} "
            f"| {r.get('date', 'not recorded')} |"
        )
    lines += [
        "",
        f"![accuracy vs model size]({plot})",
        "",
        "Accuracies are on each dataset's test split. Latency is ONNX Runtime on one thread, "
        "batch 1, median; the ratio is the speed-up.",
    ]
    return "\n".join(lines)


def _plot_size_accuracy(cases: list[dict], path: Path) -> str:
    """Teacher and INT8 student per task, accuracy against ONNX file size (log axis)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for i, r in enumerate(cases):
        m = r["metrics"]
        if "teacher_onnx_bytes" not in m or "student_int8_onnx_bytes" not in m:
            continue
        color = f"C{i}"
        sizes = [m["teacher_onnx_bytes"] / 1024, m["student_int8_onnx_bytes"] / 1024]
        accs = [m["teacher_accuracy"], m["student_int8_accuracy"]]
        ax.plot(sizes, accs, "-", color=color, alpha=0.5)
        ax.plot(sizes[0], accs[0], "o", color=color, ms=8, label=f"{r['dataset']} teacher")
        ax.plot(sizes[1], accs[1], "s", color=color, ms=8, label=f"{r['dataset']} INT8 student")
    ax.set_xscale("log")
    ax.set_xlabel("ONNX file size (KiB, log scale)")
    ax.set_ylabel("test accuracy")
    ax.set_title("accuracy vs model size: teacher -> INT8 student")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=100)
    return f"plots/{path.name}"


def _latency(m: dict) -> str:
    if "teacher_latency_ms" not in m or "student_int8_latency_ms" not in m:
        return "not recorded"
    t, st = m["teacher_latency_ms"], m["student_int8_latency_ms"]
    return f"{t:.3f} / {st:.3f} ms ({t / st:.1f}x)"


def _size(n: float | None) -> str:
    if n is None:
        return "size not recorded"
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 1024:.1f} KiB"


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        sys.exit(main(sys.argv[1:]))
