"""Memory: peak RSS of a bridge distillation vs the seed's naive loop (teacher forward without
no_grad, in the same loop as the student) vs training the student alone. Same data, teacher and
student (bench/_tasks.py), one epoch; each run in its own process.

    PYTHONPATH=. .venv/bin/python bench/memory.py            # fashion b64, text b32 and b128
    PYTHONPATH=. .venv/bin/python bench/memory.py text:32    # one configuration

~15 min on 2 cores; writes bench/results/memory.json.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

EPOCHS = 1
TEXT_ROWS = 800  # peaks are reached within a few batches; fewer rows keep the naive run short
CONFIGS = ("fashion:64", "text:32", "text:128")
MODES = ("student", "naive", "bridge")
GOAL_STUDENT, GOAL_NAIVE = 1.15, 0.5


def child(task_name: str, batch: int, mode: str) -> dict:
    import torch
    from _tasks import TASKS

    from bridge.distill.memory import peak_rss_mb
    from bridge.pipeline import RunContext, run

    torch.set_num_threads(2)
    task, home = _task(TASKS, task_name), c.bench_home()
    if mode == "bridge":
        task.load()  # the data, as every mode holds it
        shutil.rmtree(home / "teacher-cache", ignore_errors=True)  # teacher inference included
        baseline = _settled()
        with tempfile.TemporaryDirectory() as tmp:
            m = run(task.spec(EPOCHS, batch), Path(tmp) / "a", RunContext(home=home)).metrics
        # the pipeline resets the high-water mark per phase: the job's peak is their maximum
        phases = {k: round(v, 1) for k, v in m.items() if k.startswith("peak_rss_")}
        return {"peak_rss_mb": max(phases.values()), "baseline_mb": baseline, "phases": phases}
    inputs = task.seed_inputs(home, with_teacher=mode == "naive")
    baseline = _settled()  # models built and data loaded: what the loop itself adds is measured
    c.seed_loop(inputs.student, inputs.teacher, inputs.x, inputs.y, EPOCHS, mode, batch, task.lr)
    return {"peak_rss_mb": peak_rss_mb(), "baseline_mb": baseline}


def _task(tasks: dict, name: str):  # noqa: ANN202 - a bench/_tasks.py Task
    task = tasks[name]
    return replace(task, rows=TEXT_ROWS) if hasattr(task, "rows") else task


def _settled() -> float:
    """Current RSS after a collection, with the high-water mark reset to it."""
    import gc

    from bridge.distill.memory import reset_peak

    gc.collect()
    reset_peak()
    return c.rss_mb()


def measure(config: str) -> dict:
    task_name, batch = config.split(":")
    runs = {}
    for mode in MODES:
        runs[mode] = c.run_child(__file__, task_name, batch, mode)
        print(config, mode, runs[mode], flush=True)
    return {"task": task_name, "batch": int(batch), "runs": runs, "ratios": ratios(runs)}


def _merged(fresh: list[dict]) -> list[dict]:
    """Fresh configurations replace their earlier results; the others are kept (a partial
    rerun, e.g. `memory.py fashion:64`, updates one row of the table)."""
    path = c.RESULTS / "memory.json"
    earlier = json.loads(path.read_text()).get("configs", []) if path.is_file() else []
    key = lambda cfg: (cfg["task"], cfg["batch"])  # noqa: E731
    done = {key(cfg) for cfg in fresh}
    return [cfg for cfg in earlier if key(cfg) not in done] + fresh


def ratios(runs: dict) -> dict:
    s, n, b = (runs[k]["peak_rss_mb"] for k in MODES)
    above = {k: runs[k]["peak_rss_mb"] - runs[k]["baseline_mb"] for k in MODES}
    phases = runs["bridge"]["phases"]
    training = max(phases.get(f"peak_rss_{p}_mb", 0) for p in ("teacher", "train"))
    return {
        "bridge_over_student_alone": round(b / s, 3),
        "bridge_over_naive": round(b / n, 3),
        "bridge_training_phases_over_student_alone": round(training / s, 3),
        "bridge_training_phases_over_naive": round(training / n, 3),
        "teacher_phase_over_train_phase": round(
            phases.get("peak_rss_teacher_mb", 0) / max(phases.get("peak_rss_train_mb", 1), 1), 3
        ),
        "above_baseline_student_over_naive": round(above["student"] / max(above["naive"], 1), 3),
    }


def main() -> None:
    from _tasks import TASKS

    configs = [a for a in sys.argv[1:] if ":" in a] or list(CONFIGS)
    names = sorted({cfg.split(":")[0] for cfg in configs})
    for name in names:  # teachers trained/prepared once
        _task(TASKS, name).prepare(c.bench_home())
    merged = _merged([measure(cfg) for cfg in configs])
    result = {
        "tasks": {t: _task(TASKS, t).describe() for t in sorted({x["task"] for x in merged})},
        "text_rows": TEXT_ROWS,
        "epochs": EPOCHS,
        "configs": merged,
    }
    c.finish("memory", result, report)


def report(result: dict, plots: Path) -> str:
    lines = [
        "Peak RSS (MiB) of one epoch, each run in its own process. *Baseline* is the process",
        "after imports and data (torch, ONNX Runtime, transformers): the same in all three runs.",
        f"Goals: bridge <= {GOAL_STUDENT}x the student alone and <= {GOAL_NAIVE}x the naive loop.",
        "",
        "| task, batch | student alone | naive loop | bridge (whole job) | bridge train phase "
        "| bridge/student | bridge/naive | training phases/naive |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cfg in result["configs"]:
        runs, r = cfg["runs"], cfg["ratios"]
        train = runs["bridge"]["phases"].get("peak_rss_train_mb", 0)
        lines.append(
            f"| {cfg['task']}, {cfg['batch']} | {runs['student']['peak_rss_mb']:.0f} "
            f"| {runs['naive']['peak_rss_mb']:.0f} | {runs['bridge']['peak_rss_mb']:.0f} "
            f"| {train:.0f} | {r['bridge_over_student_alone']:.2f}x "
            f"| {r['bridge_over_naive']:.2f}x | {r['bridge_training_phases_over_naive']:.2f}x |"
        )
    lines += ["", *_verdicts(result["configs"])]
    return "\n".join(lines)


def _verdicts(configs: list[dict]) -> list[str]:
    out = []
    for cfg in configs:
        r, name = cfg["ratios"], f"{cfg['task']} (batch {cfg['batch']})"
        for key, goal, label in (
            ("bridge_over_student_alone", GOAL_STUDENT, "student alone"),
            ("bridge_over_naive", GOAL_NAIVE, "naive loop"),
        ):
            met = "met" if r[key] <= goal else "missed"
            out.append(f"- {name}: bridge/{label} = {r[key]:.2f}x (goal <= {goal}x): **{met}**")
        out.append(
            f"- {name}: teacher phase peak / train phase peak = "
            f"{r['teacher_phase_over_train_phase']:.2f} (the teacher never peaks above the "
            f"student: {'yes' if r['teacher_phase_over_train_phase'] <= 1.0 else 'no'})"
        )
    return out


if __name__ == "__main__":
    if "--child" in sys.argv:
        task_name, batch, mode = sys.argv[-3:]
        print(json.dumps(child(task_name, int(batch), mode)))
    else:
        main()
