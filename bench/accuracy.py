"""Accuracy: progressive schedule vs constant T/alpha vs no distillation (alpha 0), on two
tasks: digits (MLP teacher -> small MLP) and a 12k Fashion-MNIST subset (CNN teacher -> small
CNN). Same seed, epochs and student per task; test accuracy of the fp32 ONNX student.

    PYTHONPATH=. .venv/bin/python bench/accuracy.py

~10 min on 2 cores; writes bench/results/accuracy.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

from bridge.pipeline import RunContext, run  # noqa: E402
from bridge.spec import Dataset, DistillSpec, MlpConfig, QuantType, TrainingParams  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "accuracy.json"
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


def main() -> None:
    home = c.workdir() / "home"
    out: dict = {}
    for task, (teacher, student, dataset, epochs, lr) in TASKS.items():
        out[task] = {}
        for name, sched in SCHEDULES.items():
            accs = []
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
                with tempfile.TemporaryDirectory() as tmp:
                    m = run(spec, Path(tmp) / "a", RunContext(home=home)).metrics
                accs.append(m["student_accuracy"])
            out[task][name] = {"test_accuracy": accs, "mean": sum(accs) / len(accs)}
            out[task]["teacher_accuracy"] = m["teacher_accuracy"]
            print(task, name, out[task][name], flush=True)
    result = {
        "command": "PYTHONPATH=. .venv/bin/python bench/accuracy.py",
        "seeds": SEEDS,
        "results": out,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'task':<14}{'teacher':>9}" + "".join(f"{k:>17}" for k in SCHEDULES))
    for task, r in out.items():
        print(
            f"{task:<14}{r['teacher_accuracy']:>9.4f}"
            + "".join(f"{r[k]['mean']:>17.4f}" for k in SCHEDULES)
        )


if __name__ == "__main__":
    main()
