"""Peers: the same teacher, student, data and budget distilled by the bridge (local
`Distiller()`), by torchdistill's DistillationBox with its KDLoss, and by the seed's
hand-written CustomLoss loop. Test accuracy and wall time of each.

Task (`_common.py`): the 12k Fashion-MNIST subset, zoo `fashion-mnist-cnn` teacher (trained by
the bridge on the subset's training split, cached in the bench home), `CnnConfig((16, 32))`
student; 5 epochs, batch 64, AdamW lr 2e-3 (weight decay 1e-4), T 4, alpha 0.5 for everyone.
Each run is its own process.

    PYTHONPATH=. .venv/bin/python bench/peers.py

~20 min on 2 cores; writes bench/results/peers.json.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

EPOCHS = 5
LR = 2e-3
WEIGHT_DECAY = 1e-4  # the bridge's student default and the seed loop's
TEMPERATURE, ALPHA = 4.0, 0.5
RUNS = ("bridge", "bridge_constant", "torchdistill", "seed_loop")
LABELS = {
    "bridge": "bridge, default progressive schedule",
    "bridge_constant": "bridge, constant schedule (T 4, alpha 0.5)",
    "torchdistill": "torchdistill 1.1.5 DistillationBox + KDLoss",
    "seed_loop": "seed's CustomLoss loop",
}


def home() -> Path:
    """The bench home, where the teacher trained on the 12k subset is cached. Not the shared
    /tmp/bhome: the zoo cache keeps one variant per teacher name, and there it holds the
    full-Fashion-MNIST teacher that other jobs use (and whose training split contains this
    subset's test rows)."""
    return c.workdir() / "home"


def child(mode: str, epochs: int) -> dict:
    import torch

    torch.set_num_threads(2)
    if mode.startswith("bridge"):
        return _bridge(mode == "bridge_constant", epochs)
    from bridge.data import load_dataset
    from bridge.models import build_student

    data = load_dataset(c.dataset_ref(), None)
    teacher = torch.jit.load(str(home() / "teachers" / c.TEACHER / "teacher.pt")).eval()
    torch.manual_seed(0)
    student = build_student(c.STUDENT, data)
    if mode == "torchdistill":
        seconds, best_epoch = _torchdistill(student, teacher, data, epochs)
        extra = {"best_val_epoch": best_epoch}
    else:  # the seed's loop as written: constant lr, last epoch's weights
        seconds = c.seed_loop(student, teacher, data.train.x, data.train.y, epochs, "no_grad")
        extra = {}
    return {
        "test_accuracy": _accuracy(student, data.test.x, data.test.y),
        "teacher_accuracy": _accuracy(teacher, data.test.x, data.test.y),
        "training_cycle_s": seconds,
        **extra,
    }


def _bridge(constant: bool, epochs: int) -> dict:
    from bridge import Distiller
    from bridge.spec import TrainingParams

    # the bridge pays for its teacher pass (the peers run the teacher in every step)
    shutil.rmtree(home() / "teacher-cache", ignore_errors=True)
    schedule = {"schedule": "constant"} if constant else {}  # default: progressive
    params = TrainingParams(
        epochs=epochs,
        batch_size=c.BATCH,
        learning_rate=LR,
        temperature=TEMPERATURE,
        alpha=ALPHA,
        seed=0,
        **schedule,
    )
    start = time.perf_counter()
    result = (
        Distiller(home=home())
        .set_teacher(c.TEACHER)
        .set_student_config(c.STUDENT)
        .distill(c.dataset_ref(), params)
    )
    whole = time.perf_counter() - start
    m = result.metrics
    return {
        "test_accuracy": m["student_accuracy"],  # the fp32 ONNX student on the test split
        "teacher_accuracy": m["teacher_accuracy"],
        "training_cycle_s": m["teacher_cache_seconds"] + m["train_seconds"],
        "teacher_cache_s": m["teacher_cache_seconds"],
        "train_s": m["train_seconds"],
        "whole_job_s": whole,
    }


def _torchdistill(student, teacher, data, epochs: int) -> tuple[float, int]:
    """torchdistill's own single-stage DistillationBox: its data loader, frozen teacher under
    no_grad, KDLoss (alpha weights CE, 1 - alpha the T^2-scaled KL, so 0.5/0.5 matches the
    seed's loss), AdamW and a per-step cosine schedule like the bridge's. After each epoch the
    student is scored on the validation split and the best epoch kept, as torchdistill's
    example scripts do (the bridge keeps its best validation epoch too)."""
    import torch
    from torch.utils.data import RandomSampler, TensorDataset
    from torchdistill.core.distillation import get_distillation_box

    steps = epochs * -(-len(data.train.y) // c.BATCH)
    kd = {
        "key": "KDLoss",
        "kwargs": {
            "student_module_path": ".",
            "student_module_io": "output",
            "teacher_module_path": ".",
            "teacher_module_io": "output",
            "temperature": TEMPERATURE,
            "alpha": ALPHA,
            "reduction": "batchmean",
        },
    }
    config = {
        "num_epochs": epochs,
        "train_data_loader": {
            "dataset_id": "train",
            "sampler": {"class_or_func": RandomSampler, "kwargs": {}},
            "kwargs": {"batch_size": c.BATCH, "num_workers": 0},
        },
        # torchdistill 1.1.5 has no default forward_proc: name it (model(sample_batch))
        "teacher": {"requires_grad": False, "forward_proc": "forward_batch_only"},
        "student": {"requires_grad": True, "forward_proc": "forward_batch_only"},
        "optimizer": {"key": "AdamW", "kwargs": {"lr": LR, "weight_decay": WEIGHT_DECAY}},
        "scheduler": {"key": "CosineAnnealingLR", "kwargs": {"T_max": steps}, "scheduling_step": 1},
        "criterion": {
            "key": "WeightedSumLoss",
            "kwargs": {"sub_terms": {"kd": {"criterion": kd, "weight": 1.0}}},
        },
    }
    train = TensorDataset(torch.from_numpy(data.train.x), torch.from_numpy(data.train.y))
    torch.manual_seed(0)
    box = get_distillation_box(
        teacher, student, {"train": train}, config, torch.device("cpu"), None, False, 1
    )
    best_acc, best_epoch, best_state = -1.0, 0, None
    start = time.perf_counter()
    for epoch in range(epochs):
        box.pre_epoch_process(epoch=epoch)
        for sample_batch, targets, supp_dict in box.train_data_loader:
            loss = box.forward_process(sample_batch, targets, supp_dict)
            box.post_forward_process(loss)
        box.post_epoch_process()
        acc = _accuracy(student, data.val.x, data.val.y)
        if acc > best_acc:
            best_acc, best_epoch, best_state = acc, epoch + 1, copy.deepcopy(student.state_dict())
    seconds = time.perf_counter() - start
    student.load_state_dict(best_state)
    return seconds, best_epoch


def _accuracy(model, x, y) -> float:
    import numpy as np
    import torch

    model.eval()
    with torch.inference_mode():
        chunks = [model(torch.from_numpy(x[i : i + 1024])) for i in range(0, len(x), 1024)]
    logits = torch.cat(chunks)
    return float((logits.argmax(1).numpy() == np.asarray(y)).mean())


def main() -> None:
    epochs = int(os.environ.get("BENCH_EPOCHS", EPOCHS))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    here = Path(__file__).resolve()
    # the zoo teacher, trained once on the subset and cached, so no run below pays for it
    # (memory.py has no --prepare: that call ran the whole memory benchmark)
    from _tasks import TASKS

    TASKS["fashion"].prepare(home())
    runs = {}
    for mode in RUNS:
        raw = subprocess.run(
            [sys.executable, str(here), "--child", mode, str(epochs)],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
        runs[mode] = json.loads(raw.strip().splitlines()[-1])
        print(mode, runs[mode], flush=True)
    bridge = runs["bridge"]["test_accuracy"]
    result = {
        "command": "PYTHONPATH=. .venv/bin/python bench/peers.py",
        "task": f"{c.TASK}, {epochs} epochs, lr {LR}, T {TEMPERATURE}, alpha {ALPHA}",
        "epochs": epochs,
        "runs": runs,
        "bridge_minus": {
            k: round(bridge - runs[k]["test_accuracy"], 4) for k in ("torchdistill", "seed_loop")
        },
        "time_over_bridge": {
            k: round(runs[k]["training_cycle_s"] / runs["bridge"]["training_cycle_s"], 3)
            for k in RUNS
        },
    }
    print(c.write_result("peers", result))


def report(result: dict, plots: Path) -> str:
    runs = result["runs"]
    lines = [
        "## Peers: bridge vs torchdistill vs the seed's loop",
        "",
        f"Task: {result['task']}. Each run is its own process, one after the other.",
        "",
        "| run | test accuracy | training cycle (s) | time / bridge |",
        "|---|---|---|---|",
    ]
    for k in RUNS:
        r = runs[k]
        lines.append(
            f"| {LABELS[k]} | {r['test_accuracy']:.4f} | {r['training_cycle_s']:.1f} | "
            f"{result['time_over_bridge'][k]:.2f}x |"
        )
    b = runs["bridge"]
    lines += [
        "",
        f"Teacher test accuracy {b['teacher_accuracy']:.4f}. The bridge's training cycle is its "
        f"teacher cache ({b['teacher_cache_s']:.1f} s) plus training ({b['train_s']:.1f} s); "
        f"its whole job, with ONNX export and verification, took {b['whole_job_s']:.1f} s. "
        "torchdistill's time includes its per-epoch validation pass.",
        "",
    ]
    met = all(v >= 0 for v in result["bridge_minus"].values())
    gaps = ", ".join(f"{k} {v * 100:+.2f} points" for k, v in result["bridge_minus"].items())
    lines.append(
        "Goal: bridge accuracy (default schedule) >= torchdistill's and the seed loop's on the "
        f"same budget. **{'Met' if met else 'Missed'}** (bridge minus peer: {gaps}); "
        "see below."
    )
    const = runs["bridge_constant"]["test_accuracy"] - runs["bridge"]["test_accuracy"]
    lines += [
        "",
        "Where the bridge's default loses, the schedule explains it: the progressive preset "
        "trains the first 20% of steps on hard labels only, anneals T from 4 to 1 while "
        "distilling, and ends with 10% of steps without the teacher at a tenth of the "
        "learning rate, so a short budget gets less distillation than the peers' constant "
        f"T 4 / alpha 0.5. The bridge with the constant schedule scores {const * 100:+.2f} "
        "points against its default. Other differences: the seed's loop keeps a constant "
        "learning rate and its last epoch; the bridge and torchdistill decay it (cosine) and "
        "keep the best validation epoch. Each figure is one seed; the seed-to-seed spread "
        "was not measured here.",
        "",
        "Times: the machine's 2 cores were shared with other jobs whose load changed while "
        "the runs went one after the other, so the time ratios are not reliable (two full "
        "runs of this script ranked the four runs in different orders; see bench/README.md). "
        "The accuracies were the same in both. The bridge computes the teacher's outputs "
        "once; the peers run the teacher in every step.",
    ]
    if _plot(result, plots):
        lines += ["", "![peers](plots/peers.png)"]
    return "\n".join(lines) + "\n"


def _plot(result: dict, plots: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    runs = result["runs"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    names = [k.replace("_", "\n") for k in RUNS]
    axes[0].bar(names, [runs[k]["test_accuracy"] for k in RUNS], color="tab:blue")
    low = min(runs[k]["test_accuracy"] for k in RUNS)
    axes[0].set_ylim(low - 0.02, runs["bridge"]["teacher_accuracy"] + 0.01)
    axes[0].set_title("test accuracy")
    axes[1].bar(names, [runs[k]["training_cycle_s"] for k in RUNS], color="tab:orange")
    axes[1].set_title("training cycle (s)")
    fig.tight_layout()
    plots.mkdir(parents=True, exist_ok=True)
    fig.savefig(plots / "peers.png", dpi=100)
    plt.close(fig)
    return True


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child(sys.argv[-2], int(sys.argv[-1]))))
    else:
        main()
