"""Accuracy: progressive schedule vs constant T/alpha vs no distillation (alpha 0), on two
tasks: digits (MLP teacher -> small MLP) and a 12k Fashion-MNIST subset (CNN teacher -> small
CNN). Same seed, epochs and student per task; test accuracy of the fp32 ONNX student.

    PYTHONPATH=. .venv/bin/python bench/accuracy.py

~10 min on 2 cores; writes bench/results/accuracy.json.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

from bridge.events import Event, ValidationEvent  # noqa: E402
from bridge.pipeline import RunContext, run  # noqa: E402
from bridge.spec import Dataset, DistillSpec, MlpConfig, QuantType, TrainingParams  # noqa: E402

SEEDS = (0,)  # one seed: a full pass takes ~10 min on the shared 2 cores
TASKS = {
    "digits": ("digits-mlp", MlpConfig((16,)), Dataset.builtin("digits"), 20, 5e-3),
    "fashion-12k": (c.TEACHER, c.STUDENT, None, 3, 2e-3),
}
SCHEDULES = {
    "progressive": dict(schedule="progressive"),
    "constant": dict(schedule="constant", temperature=4.0, alpha=0.5),
    "no_distillation": dict(schedule="constant", alpha=0.0),
}
LABELS = {
    "progressive": "progressive",
    "constant": "constant (T 4, alpha 0.5)",
    "no_distillation": "no distillation",
}
GOAL = (
    "Goal: the progressive schedule (the default) scores at least as high as constant T/alpha "
    "and as no distillation (alpha 0) on each task."
)


def main() -> None:
    home = c.workdir() / "home"
    out: dict = {}
    for task, (teacher, student, dataset, epochs, lr) in TASKS.items():
        out[task] = {}
        for name, sched in SCHEDULES.items():
            accs, curves = [], []
            for seed in SEEDS:
                spec = DistillSpec(
                    teacher=teacher,
                    student=student,
                    dataset=dataset or c.dataset_ref(),
                    training=TrainingParams(
                        epochs=epochs, batch_size=64, learning_rate=lr, seed=seed, **sched
                    ),
                    quantization=QuantType.NONE,
                )
                curve: list[dict] = []
                with tempfile.TemporaryDirectory() as tmp:
                    m = run(spec, Path(tmp) / "a", RunContext(home=home), _recorder(curve)).metrics
                accs.append(m["student_accuracy"])
                curves.append(curve)
            out[task][name] = {
                "test_accuracy": accs,
                "mean": sum(accs) / len(accs),
                "validation": curves[0],  # per epoch, first seed
            }
            out[task]["teacher_accuracy"] = m["teacher_accuracy"]
            out[task]["epochs"] = epochs
            print(task, name, accs, flush=True)
    c.write_result("accuracy", {"seeds": list(SEEDS), "results": out})
    print(f"{'task':<14}{'teacher':>9}" + "".join(f"{k:>17}" for k in SCHEDULES))
    for task, r in out.items():
        print(
            f"{task:<14}{r['teacher_accuracy']:>9.4f}"
            + "".join(f"{r[k]['mean']:>17.4f}" for k in SCHEDULES)
        )


def _recorder(curve: list[dict]):  # noqa: ANN202 - an event sink
    def on_event(event: Event) -> None:
        if isinstance(event, ValidationEvent):
            curve.append({"epoch": event.epoch, "accuracy": event.accuracy, "loss": event.loss})

    return on_event


def report(result: dict, plots: Path) -> str:
    tasks = result.get("results", {})
    seeds = result.get("seeds", [])
    lines = [
        GOAL,
        "",
        f"Test accuracy of the fp32 ONNX student; {len(seeds)} seed(s) {list(seeds)}, mean shown. "
        "With one seed, differences under about 1 point are within seed noise.",
        "",
        "| task | teacher | " + " | ".join(LABELS.values()) + " | goal |",
        "|---|---|" + "---|" * len(LABELS) + "---|",
    ]
    for task, r in tasks.items():
        means = {k: r[k]["mean"] for k in SCHEDULES if k in r}
        best = max(means.values())
        cells = [f"**{v:.4f}**" if v == best else f"{v:.4f}" for v in means.values()]
        lines.append(
            f"| {task} | {r['teacher_accuracy']:.4f} | "
            + " | ".join(cells)
            + f" | {_verdict(means)} |"
        )
    lines += ["", f"![test accuracy per schedule]({_bar_plot(tasks, plots)})"]
    curves = _curve_plot(tasks, plots)
    if curves:
        lines += ["", f"![validation accuracy per epoch]({curves})"]
    else:
        lines += ["", "Validation curves were not recorded in this result (older run)."]
    return "\n".join(lines)


def _verdict(means: dict[str, float]) -> str:
    progressive = means.get("progressive")
    if progressive is None:
        return "not recorded"
    others = {k: v for k, v in means.items() if k != "progressive"}
    worst = min(progressive - v for v in others.values())
    if worst >= 0:
        return f"met (+{100 * worst:.1f} points over the next best)"
    rival = max(others, key=others.get)
    return f"missed ({100 * -worst:.1f} points behind {LABELS[rival]})"


def _bar_plot(tasks: dict, plots: Path) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    width = 0.8 / (len(SCHEDULES) + 1)
    for i, task in enumerate(tasks):
        r = tasks[task]
        bars = [("teacher", r["teacher_accuracy"])] + [
            (LABELS[k], r[k]["mean"]) for k in SCHEDULES if k in r
        ]
        for j, (label, value) in enumerate(bars):
            ax.bar(i + j * width, value, width, color=f"C{j}", label=label if i == 0 else None)
    ax.set_xticks([i + width * len(SCHEDULES) / 2 for i in range(len(tasks))], list(tasks))
    low = min(min(r[k]["mean"] for k in SCHEDULES if k in r) for r in tasks.values())
    ax.set_ylim(max(0.0, low - 0.05), 1.0)
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    path = plots / "accuracy_schedules.png"
    fig.savefig(path, dpi=100)
    return f"plots/{path.name}"


def _curve_plot(tasks: dict, plots: Path) -> str | None:
    if not any(r.get(k, {}).get("validation") for r in tasks.values() for k in SCHEDULES):
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4 * len(tasks), 3.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    for ax, (task, r) in zip(axes, tasks.items(), strict=True):
        for j, k in enumerate(SCHEDULES):
            curve = r.get(k, {}).get("validation") or []
            xs = [p["epoch"] for p in curve]
            ax.plot(
                xs, [p["accuracy"] for p in curve], "o-", ms=3, color=f"C{j + 1}", label=LABELS[k]
            )
        ax.set_title(task)
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    path = plots / "accuracy_validation.png"
    fig.savefig(path, dpi=100)
    return f"plots/{path.name}"


if __name__ == "__main__":
    main()
