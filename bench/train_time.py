"""Time: a 5-epoch distillation by the bridge (teacher outputs computed once under inference
mode and memory-mapped; progressive schedule) vs the seed's loop with the teacher under
no_grad (a teacher forward in every step of every epoch). Same data, teacher and student;
each in its own process, one after the other.

    PYTHONPATH=. .venv/bin/python bench/train_time.py

~6 min on 2 cores; writes bench/results/train_time.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

EPOCHS = 5
RESULTS = Path(__file__).resolve().parent / "results" / "train_time.json"


def child(mode: str) -> dict:
    import torch

    from bridge.data import load_dataset
    from bridge.models import build_student
    from bridge.pipeline import RunContext, run
    from bridge.spec import DistillSpec, QuantType, TrainingParams

    torch.set_num_threads(2)
    home = c.workdir() / "home"
    if mode == "bridge":
        shutil.rmtree(home / "teacher-cache", ignore_errors=True)  # pay for teacher inference
        spec = DistillSpec(
            teacher=c.TEACHER,
            student=c.STUDENT,
            dataset=c.dataset_ref(),
            training=TrainingParams(epochs=EPOCHS, batch_size=c.BATCH, learning_rate=2e-3),
            quantization=QuantType.NONE,
        )
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            m = run(spec, Path(tmp) / "a", RunContext(home=home)).metrics
        return {
            "training_cycle_s": m["teacher_cache_seconds"] + m["train_seconds"],
            "teacher_cache_s": m["teacher_cache_seconds"],
            "train_s": m["train_seconds"],
            "whole_job_s": time.perf_counter() - start,
            "student_accuracy": m["student_accuracy"],
        }
    data = load_dataset(c.dataset_ref(), None)
    torch.manual_seed(0)
    student = build_student(c.STUDENT, data)
    teacher = torch.jit.load(str(home / "teachers" / c.TEACHER / "teacher.pt")).eval()
    seconds = c.seed_loop(student, teacher, data.train.x, data.train.y, EPOCHS, "no_grad")
    return {"training_cycle_s": seconds}


def main() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    here = Path(__file__).resolve()
    subprocess.run(
        [sys.executable, str(here.with_name("memory.py")), "--prepare"], check=True, env=env
    )
    out = {}
    for mode in ("seed_no_grad", "bridge"):
        raw = subprocess.run(
            [sys.executable, str(here), "--child", mode],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
        out[mode] = json.loads(raw.strip().splitlines()[-1])
        print(mode, out[mode], flush=True)
    speedup = out["seed_no_grad"]["training_cycle_s"] / out["bridge"]["training_cycle_s"]
    result = {
        "command": "PYTHONPATH=. .venv/bin/python bench/train_time.py",
        "task": f"{c.TASK}, {EPOCHS} epochs",
        "runs": out,
        "speedup_training_cycle": round(speedup, 3),
        "cycle_time_reduction_pct": round(100 * (1 - 1 / speedup), 1),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'run':<14}{'training cycle s':>18}")
    for k in out:
        print(f"{k:<14}{out[k]['training_cycle_s']:>18.1f}")
    print(f"speedup {speedup:.2f}x")


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child(sys.argv[-1])))
    else:
        main()
