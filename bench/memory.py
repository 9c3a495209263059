"""Memory: peak RSS of a bridge distillation vs the seed's naive loop (teacher forward without
no_grad, in the same loop as the student) vs training the student alone. Same data (a 12k
Fashion-MNIST subset), same teacher and student, batch 64; each measured in its own process.

    PYTHONPATH=. .venv/bin/python bench/memory.py

~5 min on 2 cores; writes bench/results/memory.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

EPOCHS = 2
RESULTS = Path(__file__).resolve().parent / "results" / "memory.json"


def child(mode: str) -> dict:
    import torch

    from bridge.data import load_dataset
    from bridge.models import build_student
    from bridge.pipeline import RunContext, run
    from bridge.spec import DistillSpec, QuantType, TrainingParams

    torch.set_num_threads(2)
    home = c.workdir() / "home"
    data = load_dataset(c.dataset_ref(), None)
    baseline = c.peak_rss_mb()
    if mode == "bridge":
        shutil.rmtree(home / "teacher-cache", ignore_errors=True)  # teacher inference included
        spec = DistillSpec(
            teacher=c.TEACHER,
            student=c.STUDENT,
            dataset=c.dataset_ref(),
            training=TrainingParams(epochs=EPOCHS, batch_size=c.BATCH, learning_rate=2e-3),
            quantization=QuantType.NONE,
        )
        with tempfile.TemporaryDirectory() as tmp:
            m = run(spec, Path(tmp) / "a", RunContext(home=home)).metrics
        phases = {k: round(v, 1) for k, v in m.items() if k.startswith("peak_rss_")}
        return {"peak_rss_mb": c.peak_rss_mb(), "baseline_mb": baseline, "phases": phases}
    torch.manual_seed(0)
    student = build_student(c.STUDENT, data)
    teacher = None
    if mode == "naive":
        teacher = torch.jit.load(str(home / "teachers" / c.TEACHER / "teacher.pt")).eval()
    c.seed_loop(student, teacher, data.train.x, data.train.y, EPOCHS, mode)
    return {"peak_rss_mb": c.peak_rss_mb(), "baseline_mb": baseline}


def main() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    here = Path(__file__).resolve()
    # train the zoo teacher on the subset first (cached), so no run below pays for it
    subprocess.run([sys.executable, str(here), "--prepare"], check=True, env=env)
    out = {}
    for mode in ("student", "naive", "bridge"):
        raw = subprocess.run(
            [sys.executable, str(here), "--child", mode],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
        out[mode] = json.loads(raw.strip().splitlines()[-1])
        print(mode, out[mode], flush=True)
    s, n, b = (out[k]["peak_rss_mb"] for k in ("student", "naive", "bridge"))
    sb, nb, bb = (
        out[k]["peak_rss_mb"] - out[k]["baseline_mb"] for k in ("student", "naive", "bridge")
    )
    bridge_training = max(
        out["bridge"]["phases"].get(f"peak_rss_{p}_mb", 0) for p in ("teacher", "train")
    )
    result = {
        "command": "PYTHONPATH=. .venv/bin/python bench/memory.py",
        "task": f"{c.TASK}, {EPOCHS} epochs",
        "runs": out,
        "ratios": {
            "bridge_over_student_alone": round(b / s, 3),
            "bridge_over_naive": round(b / n, 3),
            "bridge_training_phases_over_student_alone": round(bridge_training / s, 3),
            "bridge_training_phases_over_naive": round(bridge_training / n, 3),
            "above_baseline_bridge_over_naive": round(bb / max(nb, 1e-9), 3),
            "above_baseline_student_over_naive": round(sb / max(nb, 1e-9), 3),
        },
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'run':<10}{'peak RSS MiB':>14}{'above baseline':>16}")
    for k in ("student", "naive", "bridge"):
        print(
            f"{k:<10}{out[k]['peak_rss_mb']:>14.0f}"
            f"{out[k]['peak_rss_mb'] - out[k]['baseline_mb']:>16.0f}"
        )
    print(json.dumps(result["ratios"], indent=2))


def prepare() -> None:
    from bridge.data import load_dataset
    from bridge.models import ZOO
    from bridge.teacher_prep import ensure_zoo_teacher

    ensure_zoo_teacher(ZOO[c.TEACHER], load_dataset(c.dataset_ref(), None), c.workdir() / "home")


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child(sys.argv[-1])))
    elif "--prepare" in sys.argv:
        prepare()
    else:
        main()
