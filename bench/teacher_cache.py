"""Teacher-output cache (issue 20): bytes per row, peak RSS by phase and time per training step
for the three ways feature targets reach the trainer, against the student trained alone (the
seed's loop, plain cross-entropy, same batch), each run in its own process.

- `cached`: `features=full`, dense fp16 at the padded width (the layout before issue 20);
- `compact`: the default, real tokens only, int8 hidden states and uint8 attention;
- `recompute`: logits cached, hidden states and attention recomputed per batch (the path a
  budget too small for the compact targets takes).

The text task of bench/_tasks.py (a stratified sample of airline tweets, MiniLM-L6 with a
prepared head, a 2x384 student from its layers, 64 tokens, batch 32) with the default feature
losses on (hidden and attention weight 1), one epoch, fp32 artifact.

    PYTHONPATH=. .venv/bin/python bench/teacher_cache.py          # 3,000 rows, ~8 min on 2 cores
    PYTHONPATH=. .venv/bin/python bench/teacher_cache.py 1000     # another sample size

Writes bench/results/teacher_cache.json. The full airline run's accuracy per path is
text_students.py's (runs kd_cache_full, kd, kd_recompute); 100,000 rows are
teacher_cache_at_size.py's.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

EPOCHS = 1
ROWS = 3000
BUDGETS = {
    "cached": "disk=1GiB,features=full",
    "compact (mmap)": "disk=1GiB,resident=1GiB",
    "compact (pread)": "disk=1GiB,resident=0",
    "recompute": "1KB",
}
DEFAULT = "compact (pread)"  # what the default budget does at this size
MODES = ("student", *BUDGETS)
GOAL_RSS, GOAL_BYTES_PER_ROW = 1.3, 10_000


def child(rows: int, mode: str) -> dict:
    import torch
    from _tasks import TASKS

    from bridge.cache_budget import CacheBudget
    from bridge.distill.memory import peak_rss_mb, release_memory, reset_peak
    from bridge.pipeline import RunContext, run

    torch.set_num_threads(2)
    task, home = replace(TASKS["text"], rows=rows), c.bench_home()
    if mode == "student":
        inputs = task.seed_inputs(home, with_teacher=False)
        release_memory()  # what loading and tokenizing freed, as the bridge does between phases
        reset_peak()
        seconds = c.seed_loop(
            inputs.student, None, inputs.x, inputs.y, EPOCHS, "student", task.batch, task.lr
        )
        steps = math.ceil(len(inputs.y) / task.batch) * EPOCHS
        return {"peak_rss_mb": peak_rss_mb(), "step_ms": 1000 * seconds / steps}
    spec = task.spec(EPOCHS)
    spec = replace(spec, training=replace(spec.training, hidden_weight=1.0, attention_weight=1.0))
    shutil.rmtree(home / "teacher-cache", ignore_errors=True)  # teacher inference included
    budget = CacheBudget.parse(BUDGETS[mode])
    with tempfile.TemporaryDirectory() as tmp:
        result = run(spec, Path(tmp) / "a", RunContext(home=home, teacher_cache_budget=budget))
    m, train_rows = result.metrics, result.manifest["dataset"]["rows"]["train"]
    steps = math.ceil(train_rows / task.batch) * EPOCHS
    phases = {k: round(v, 1) for k, v in m.items() if k.startswith("peak_rss_")}
    keep = (
        "teacher_features_path",
        "teacher_cache_bytes",
        "teacher_cache_bytes_per_row",
        "teacher_features_fp16_bytes",
        "teacher_features_compact_bytes",
        "teacher_cache_seconds",
        "train_seconds",
        "student_accuracy",
        "teacher_accuracy",
    )
    return {
        "peak_rss_mb": max(phases.values()),
        "phases": phases,
        "step_ms": 1000 * m["train_seconds"] / steps,
        "train_rows": train_rows,
        **{k: m[k] for k in keep if k in m},
    }


def main() -> None:
    from _tasks import TASKS

    rows = int(next((a for a in sys.argv[1:] if a.isdigit()), ROWS))
    wanted = [m for m in MODES if m in sys.argv[1:]] or list(MODES)
    task = replace(TASKS["text"], rows=rows)
    task.prepare(c.bench_home())  # the teacher's head, prepared once
    runs = _earlier(rows)  # a partial rerun (`teacher_cache.py "compact (pread)"`) keeps the rest
    for mode in wanted:
        runs[mode] = c.run_child(__file__, str(rows), mode)
        print(mode, runs[mode], flush=True)
    result = {"task": task.describe() + ", hidden and attention losses on", "rows": rows}
    c.finish("teacher_cache", {**result, "epochs": EPOCHS, "runs": runs}, report)


def _earlier(rows: int) -> dict:
    path = c.RESULTS / "teacher_cache.json"
    earlier = json.loads(path.read_text()) if path.is_file() else {}
    runs = earlier.get("runs", {}) if earlier.get("rows") == rows else {}
    return {k: v for k, v in runs.items() if k in MODES}


def report(result: dict, plots: Path) -> str:
    runs = result["runs"]
    alone = runs["student"]
    lines = [
        f"{result['task']}; {result['rows']:,} rows, {result['epochs']} epoch, each run in its "
        "own process. *Student alone*: the seed's loop without a teacher, same batch. "
        f"Goals (issue 20): peak RSS <= {GOAL_RSS}x the student alone; cache <= "
        f"{GOAL_BYTES_PER_ROW / 1000:.0f} KB per training row under the default budget "
        f"(the `{DEFAULT}` row: the default budget, disk 1 GiB and resident 64 MiB, caches "
        "these rows' targets compactly and reads them per batch).",
        "",
        "| path | cache / train row | cache entry | peak RSS teacher | peak RSS train | peak RSS "
        "job | job / student alone | ms / step | step / student alone | test accuracy |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| student alone | - | - | - | {alone['peak_rss_mb']:.0f} MiB | - | - | "
        f"{alone['step_ms']:.0f} | 1.00x | - |",
    ]
    for mode in (m for m in BUDGETS if m in runs):
        r = runs[mode]
        ph = r["phases"]
        lines.append(
            f"| {mode} | {r['teacher_cache_bytes_per_row'] / 1000:,.1f} KB "
            f"| {r['teacher_cache_bytes'] / 1e6:,.1f} MB "
            f"| {ph.get('peak_rss_teacher_mb', 0):.0f} MiB "
            f"| {ph.get('peak_rss_train_mb', 0):.0f} MiB "
            f"| {r['peak_rss_mb']:.0f} MiB | {r['peak_rss_mb'] / alone['peak_rss_mb']:.2f}x "
            f"| {r['step_ms']:.0f} | {r['step_ms'] / alone['step_ms']:.2f}x "
            f"| {r.get('student_accuracy', float('nan')):.4f} |"
        )
    per_row = runs[DEFAULT]["teacher_cache_bytes_per_row"]
    lines += ["", *_verdicts(runs, alone), _bytes_verdict(per_row), *_accuracy_caveat(runs)]
    return "\n".join(lines)


def _accuracy_caveat(runs: dict) -> list[str]:
    """One epoch on a sample measures memory and speed; it cannot show an accuracy cost."""
    accuracies = {round(r["student_accuracy"], 4) for m, r in runs.items() if m in BUDGETS}
    if len(accuracies) != 1:
        return []
    return [
        f"- Test accuracy is {accuracies.pop():.4f} on every path: after one epoch on this "
        "sample the students do not tell the paths apart, so this table says nothing about an "
        "accuracy cost of the compact or recomputed targets (the full airline run per path, in "
        "text_students, does)."
    ]


def _verdicts(runs: dict, alone: dict) -> list[str]:
    """Against the student alone: the teacher and training phases (what the cache changes),
    and the whole job (export and verification included, which the seed's loop never runs)."""
    out = []
    for mode in (m for m in BUDGETS if m in runs):
        ph = runs[mode]["phases"]
        training = max(ph.get(f"peak_rss_{p}_mb", 0) for p in ("teacher", "train"))
        for what, peak in (
            ("teacher+train phases", training),
            ("whole job", runs[mode]["peak_rss_mb"]),
        ):
            ratio = peak / alone["peak_rss_mb"]
            met = "met" if ratio <= GOAL_RSS else "missed"
            out.append(
                f"- {mode}, {what}: peak RSS / student alone = {ratio:.2f}x (goal <= "
                f"{GOAL_RSS}x): **{met}**"
            )
    return out


def _bytes_verdict(per_row: float) -> str:
    met = "met" if per_row <= GOAL_BYTES_PER_ROW else "missed"
    return (
        f"- default budget ({DEFAULT} here): {per_row / 1000:.1f} KB per training row (goal <= "
        f"{GOAL_BYTES_PER_ROW / 1000:.0f} KB): **{met}**"
    )


if __name__ == "__main__":
    if "--child" in sys.argv:
        rows, mode = sys.argv[-2:]
        print(json.dumps(child(int(rows), mode)))
    else:
        main()
