"""Budgets: does the bridge's default beat what a user would do by hand, at short and long
budgets, over several seeds?

Per task and epoch budget (the parts: `fashion-5`, `fashion-20`, `digits-5`, `digits-20`,
`airline-3`; tasks in _tasks.py), up to eight ways to train the same student from the same
teacher on the same training split, with the same batch and learning rate:

- `bridge`: the local `Distiller()` with its defaults (schedule, temperature, alpha);
- `bridge_auto`: the bridge with `schedule="auto"` (10 trials searching shape, temperature and
  alpha on the validation split; its cycle counts every trial);
- `bridge_constant`: the bridge with the seed's constant T 4 / alpha 0.5;
- `bridge_no_kd`: the bridge with alpha 0, the same student without a teacher;
- `bridge_copies`, `bridge_copies_no_kd` (image parts): the bridge with 4 shifted copies of each
  training image (`augment_copies`, labelled by the teacher), with its defaults and without a
  teacher; the same epochs, so 5x the rows and steps: context, not a like-for-like peer;
- `torchdistill`: torchdistill's DistillationBox + KDLoss (T 4, alpha 0.5), cosine learning
  rate, best validation epoch kept (as its example scripts do);
- `seed_loop`: the seed's hand-written CustomLoss loop (T 4, alpha 0.5), constant learning rate,
  last epoch.

The peers train what a user builds by hand around the bridge-prepared teacher (_tasks.py's
`hand_built`). On `airline-3` (the 2-layer Transformer student of MiniLM-L6, fully fine-tuned by
the bridge, on all the airline tweets) that is the student with the teacher's whole vocabulary,
initialised from its layers, on the teacher tokenizer's ids (64 tokens); the bridge runs prune
the vocabulary and, where they use the teacher, add its hidden-state and attention losses, as the
bridge does by default (`bridge_constant` too). `airline-3` runs no
`bridge_auto` (its 10 trainings per seed would about double the part's time) and no copies (text);
the report marks those cells "not run" and leaves out their goals; no cycle goal is set at 3
epochs either (the ratio is reported without a verdict).

Every run is its own process. Within a part, runs are interleaved (seed 0: A, B, C, D, E; seed 1:
A, B, ...), so a change in the machine's load hits every method alike. The training cycle is
what each needs to turn a teacher into a trained student: for the bridge its teacher-output
cache (rebuilt for every run) plus training; for the peers their loop, which runs the teacher
in every step. CPU seconds (this process, all threads) are the headline; wall seconds are
context.

    PYTHONPATH=. .venv/bin/python bench/budgets.py                 # every part
    PYTHONPATH=. .venv/bin/python bench/budgets.py fashion-5 digits-20

Each finished run is saved in results/budgets.json at once and skipped when the script runs
again, so parts run on different days merge into one report (`--fresh` runs the named parts, or
all, again). An image or tabular part takes 2-15 min on 2 cores. `airline-3` takes about 2 h on
2 idle cores (per seed ~6 min for each bridge run, ~9 for each peer, whose loop runs the teacher
every step), plus ~10 min to prepare the teacher if the bench home has none yet (text_students.py
prepares the same one). `BENCH_AIRLINE_ROWS=<n>` is for smoke tests of single `--child` runs
only (a sample and a head-only teacher; the parts refuse it).
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

METHODS = (
    "bridge",
    "bridge_auto",
    "bridge_constant",
    "bridge_no_kd",
    "bridge_copies",
    "bridge_copies_no_kd",
    "torchdistill",
    "seed_loop",
)
COPIES = 4  # bridge_copies*: teacher-labelled shifted copies of each training image
PEERS = ("bridge_constant", "torchdistill", "seed_loop")
LABELS = {
    "bridge": "bridge, defaults",
    "bridge_auto": "bridge, schedule auto (10 trials)",
    "bridge_constant": "bridge, constant T 4 / alpha 0.5",
    "bridge_no_kd": "bridge, no teacher (alpha 0)",
    "bridge_copies": f"bridge, defaults, {COPIES} teacher-labelled copies (5x rows per epoch)",
    "bridge_copies_no_kd": f"bridge, no teacher, {COPIES} copies (5x rows per epoch)",
    "torchdistill": "torchdistill KDLoss",
    "seed_loop": "seed's CustomLoss loop",
}
# airline-3 runs no bridge_auto: its 10 trainings per seed would add ~1.5-2 h to the part's ~2 h;
# nor copies, which are made of images.
WITHOUT_AUTO = tuple(m for m in METHODS if m != "bridge_auto" and not m.startswith("bridge_copies"))
PARTS = {  # part: (task in _tasks.py, epochs, methods)
    "fashion-5": ("fashion", 5, METHODS),
    "fashion-20": ("fashion", 20, METHODS),
    "digits-5": ("digits", 5, METHODS),
    "digits-20": ("digits", 20, METHODS),
    "airline-3": ("airline", 3, WITHOUT_AUTO),
}
SEEDS = (0, 1, 2)
# bridge / seed loop CPU seconds, by epochs (issue 13); none is set at 3 epochs
CYCLE_GOALS = {5: 0.8, 20: 0.6}
TEMPERATURE, ALPHA = 4.0, 0.5
RESULT = c.RESULTS / "budgets.json"


# ---------------------------------------------------------------- one run (child process)


def child(task_name: str, epochs: int, method: str, seed: int) -> dict:
    import torch
    from _tasks import TASKS

    torch.set_num_threads(2)
    task = TASKS[task_name]
    if method.startswith("bridge"):
        return _bridge(task, epochs, method, seed)
    # what a user builds by hand: the prepared teacher, a fresh student, the same inputs
    data = task.load()
    built = task.hand_built(c.bench_home(), data, seed)
    teacher, student = built.teacher.eval(), built.student
    train, val, test = (built.encode(s) for s in (data.train, data.val, data.test))
    wall, cpu = time.perf_counter(), time.process_time()
    if method == "torchdistill":
        best_epoch = _torchdistill(
            student, teacher, train, data.train.y, val, data.val.y, task, epochs
        )
    else:  # the seed's loop as written: constant learning rate, last epoch's weights
        c.seed_loop(
            student, teacher, train, data.train.y, epochs, "no_grad", task.batch, task.lr, seed
        )
        best_epoch = epochs
    cycle_s, cycle_cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    return {  # the test passes are outside the cycle, as they are for the bridge
        "test_accuracy": _accuracy(student, test, data.test.y),
        "teacher_accuracy": _accuracy(teacher, test, data.test.y),
        "cycle_s": cycle_s,
        "cycle_cpu_s": cycle_cpu_s,
        "best_epoch": best_epoch,
    }


def _bridge(task, epochs: int, method: str, seed: int) -> dict:
    from bridge import Distiller
    from bridge.spec import TrainingParams

    settings: dict = {}
    if method == "bridge_constant":
        settings = {"schedule": "constant", "temperature": TEMPERATURE, "alpha": ALPHA}
    elif method == "bridge_no_kd":
        settings = {"schedule": "constant", "alpha": 0.0}
    elif method == "bridge_auto":
        settings = {"schedule": "auto"}
    elif method == "bridge_copies":
        settings = {"augment_copies": COPIES}
    elif method == "bridge_copies_no_kd":
        settings = {"schedule": "constant", "alpha": 0.0, "augment_copies": COPIES}
    # every run pays for its teacher-output cache
    shutil.rmtree(c.bench_home() / "teacher-cache", ignore_errors=True)
    params = TrainingParams(
        epochs=epochs, batch_size=task.batch, learning_rate=task.lr, seed=seed, **settings
    )
    result = (
        Distiller(home=c.bench_home())
        .set_teacher(task.teacher)
        .set_teacher_preparation(task.preparation)  # a text teacher's, shared with the peers
        .set_student_config(task.student)
        .distill(task.dataset(), params)
    )
    m = result.metrics
    return {
        "test_accuracy": m["student_accuracy"],  # the fp32 ONNX student on the test split
        "teacher_accuracy": m["teacher_accuracy"],
        "cycle_s": m["teacher_cache_seconds"] + m["train_seconds"],
        "cycle_cpu_s": m["teacher_cache_cpu_seconds"] + m["train_cpu_seconds"],
        "teacher_cache_cpu_s": m["teacher_cache_cpu_seconds"],
        "best_epoch": m["best_epoch"],
    }


def _torchdistill(student, teacher, x, y, val_x, val_y, task, epochs: int) -> int:
    """torchdistill's single-stage DistillationBox: its data loader, frozen teacher, KDLoss
    (alpha weights CE, 1 - alpha the T^2-scaled KL: 0.5/0.5 is the seed's loss), AdamW, a
    per-step cosine schedule; the best validation epoch is kept. Its `forward_batch_only` passes
    the model one tensor per batch: text inputs travel stacked (`_OneTensor`)."""
    import torch
    from torch.utils.data import RandomSampler, TensorDataset
    from torchdistill.core.distillation import get_distillation_box

    steps = epochs * -(-len(y) // task.batch)
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
            "kwargs": {"batch_size": task.batch, "num_workers": 0},
        },
        # torchdistill 1.1.5 has no default forward_proc: name it (model(sample_batch))
        "teacher": {"requires_grad": False, "forward_proc": "forward_batch_only"},
        "student": {"requires_grad": True, "forward_proc": "forward_batch_only"},
        "optimizer": {"key": "AdamW", "kwargs": {"lr": task.lr, "weight_decay": 1e-4}},
        "scheduler": {"key": "CosineAnnealingLR", "kwargs": {"T_max": steps}, "scheduling_step": 1},
        "criterion": {
            "key": "WeightedSumLoss",
            "kwargs": {"sub_terms": {"kd": {"criterion": kd, "weight": 1.0}}},
        },
    }
    inputs = [torch.from_numpy(a) for a in x.arrays]
    train = TensorDataset(torch.stack(inputs, 1) if x.is_text else inputs[0], torch.from_numpy(y))
    box = get_distillation_box(
        _OneTensor(teacher, x.is_text),
        _OneTensor(student, x.is_text),
        {"train": train},
        config,
        torch.device("cpu"),
        None,
        False,
        1,
    )
    best_acc, best_epoch, best_state = -1.0, 0, None
    for epoch in range(epochs):
        box.pre_epoch_process(epoch=epoch)
        for sample_batch, targets, supp_dict in box.train_data_loader:
            loss = box.forward_process(sample_batch, targets, supp_dict)
            box.post_forward_process(loss)
        box.post_epoch_process()
        acc = _accuracy(student, val_x, val_y)
        if acc > best_acc:
            best_acc, best_epoch, best_state = acc, epoch + 1, copy.deepcopy(student.state_dict())
    student.load_state_dict(best_state)
    return best_epoch


class _OneTensor(nn.Module):
    """A model behind torchdistill's one-tensor forward: image and tabular batches pass as they
    are; text batches come as [N, 2, L] (token ids, mask) and are trimmed to their longest row,
    as the seed's loop and the bridge trim them."""

    def __init__(self, model: nn.Module, text: bool) -> None:
        super().__init__()
        self.model, self.text = model, text

    def forward(self, x):  # noqa: ANN001, ANN201 - a batch tensor in, logits out
        if not self.text:
            return self.model(x)
        longest = max(1, int(x[:, 1].sum(1).max()))
        return self.model(x[:, 0, :longest], x[:, 1, :longest])


def _accuracy(model, x, y) -> float:
    """Test or validation accuracy on model inputs (`Features`: text batches trimmed to their
    longest row, as in training)."""
    import numpy as np
    import torch

    model.eval()
    step = 256 if x.is_text else 1024
    with torch.inference_mode():
        chunks = [
            model(*(torch.from_numpy(a) for a in x.batch(slice(i, i + step))))
            for i in range(0, len(x), step)
        ]
    logits = torch.cat(chunks)
    return float((logits.argmax(1).numpy() == np.asarray(y)).mean())


# ---------------------------------------------------------------- the parts (parent process)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    parts = args or list(PARTS)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        sys.exit(f"unknown part(s) {unknown}; known: {', '.join(PARTS)}")
    if os.environ.get("BENCH_AIRLINE_ROWS"):
        sys.exit("BENCH_AIRLINE_ROWS is for smoke tests of one --child run; unset it")
    runs = _saved_runs() if RESULT.is_file() else {}
    if "--fresh" in sys.argv:  # run the named parts again
        runs = {k: v for k, v in runs.items() if k.split("/")[0] not in parts}
    for part in parts:
        task_name, epochs, methods = PARTS[part]
        _prepare(task_name)
        for seed in SEEDS:
            for method in methods:
                key = f"{part}/{method}/{seed}"
                if key in runs:
                    continue
                runs[key] = c.run_child(__file__, task_name, str(epochs), method, str(seed))
                print(key, runs[key], flush=True)
                _save(runs)
    print(RESULT)
    print(report(json.loads(RESULT.read_text()), c.RESULTS / "plots"))


def _prepare(task_name: str) -> None:
    """The zoo teacher, trained once on the task and cached, so no run pays for it."""
    from _tasks import TASKS

    TASKS[task_name].prepare(c.bench_home())


def _saved_runs() -> dict:
    return json.loads(RESULT.read_text()).get("runs", {})


def _save(runs: dict) -> None:
    from _tasks import TASKS

    tasks = {PARTS[k.split("/")[0]][0] for k in runs}
    c.write_result(
        "budgets",
        {
            "command": "PYTHONPATH=. .venv/bin/python bench/budgets.py [part ...]",
            "tasks": {t: TASKS[t].describe() for t in sorted(tasks)},
            "seeds": list(SEEDS),
            "runs": runs,
        },
    )


# ---------------------------------------------------------------- report


def summarize(values: list[float]) -> tuple[float, float]:
    """(mean, standard error of the mean); the error is nan for a single value."""
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    return mean, se


def verdict(diff: float, se: float) -> str:
    """A difference of means against two standard errors of that difference."""
    if math.isnan(se):
        return "one seed: no interval"
    if diff > 2 * se:
        return "met"
    if diff >= -2 * se:
        return "tie (within 2 SE)" if diff < 0 else "met (within 2 SE)"
    return "**missed**"


def _part_runs(result: dict, part: str, method: str, key: str) -> list[float]:
    return [
        r[key] for k, r in result["runs"].items() if k.startswith(f"{part}/{method}/") and key in r
    ]


def report(result: dict, plots: Path) -> str:
    lines = [
        "Test accuracy, mean +- standard error over seeds "
        f"({', '.join(map(str, result['seeds']))}); training cycle in CPU seconds (this "
        "process, all threads), mean. Same teacher, student, training split, batch and learning "
        "rate for every method; every run its own process, methods interleaved per seed.",
        "",
        "| part | teacher | " + " | ".join(LABELS[m] for m in METHODS) + " |",
        "|---|---|" + "---|" * len(METHODS),
    ]
    verdicts = []
    for part, (_, _, methods) in PARTS.items():
        found = {m: _part_runs(result, part, m, "test_accuracy") for m in methods}
        accs = {m: a for m, a in found.items() if a}  # a method not run yet is left out
        if not all(m in accs for m in (*PEERS, "bridge", "bridge_no_kd")):
            continue
        teacher = statistics.fmean(_part_runs(result, part, "bridge", "teacher_accuracy"))
        cells = []
        for m in METHODS:
            if m not in accs:
                cells.append("not run")
                continue
            mean, se = summarize(accs[m])
            cpu = statistics.fmean(_part_runs(result, part, m, "cycle_cpu_s"))
            cells.append(f"{mean:.4f} +- {se:.4f} ({cpu:.3g} s)")
        lines.append(f"| {part} | {teacher:.4f} | " + " | ".join(cells) + " |")
        verdicts += _part_verdicts(part, accs, result)
    lines += ["", "Goals (a difference of means against 2 standard errors of the difference):", ""]
    return "\n".join(lines + verdicts) + "\n"


def _part_verdicts(part: str, accs: dict[str, list[float]], result: dict) -> list[str]:
    out = []
    best_peer = max(PEERS, key=lambda m: statistics.fmean(accs[m]))
    comparisons = (
        ("bridge", best_peer, "default >= best peer"),
        ("bridge", "bridge_no_kd", "KD gain > 2 SE"),
        ("bridge_auto", best_peer, "auto >= best peer"),
        ("bridge_auto", "bridge_no_kd", "auto >= no teacher"),
        # context, not an issue-13 goal: copies train on 5x the rows per epoch
        ("bridge_copies", "bridge_no_kd", "copies over no teacher"),
        ("bridge_copies", "bridge_copies_no_kd", "copies: the teacher's share"),
    )
    for method, other, goal in comparisons:
        if method not in accs or other not in accs:  # a method the part does not run
            continue
        mean_a, se_a = summarize(accs[method])
        mean_b, se_b = summarize(accs[other])
        diff, se = mean_a - mean_b, math.hypot(se_a, se_b)
        v = verdict(diff, se)
        if goal.startswith("KD gain") and v.startswith("met ("):
            v = "**missed** (within noise)"
        out.append(
            f"- {part}, {goal} ({LABELS[other]}): {diff * 100:+.2f} +- {2 * se * 100:.2f} "
            f"points: {v}"
        )
    cpu = {m: statistics.fmean(_part_runs(result, part, m, "cycle_cpu_s")) for m in accs}
    ratio, epochs = cpu["bridge"] / cpu["seed_loop"], PARTS[part][1]
    goal = CYCLE_GOALS.get(epochs)
    if goal is None:
        against = f"no goal at {epochs} epochs"
    else:
        against = f"goal <= {goal}x: {'met' if ratio <= goal else '**missed**'}"
    out.append(
        f"- {part}, training cycle, bridge / seed loop CPU seconds: {ratio:.2f}x ({against}; "
        f"torchdistill / seed loop {cpu['torchdistill'] / cpu['seed_loop']:.2f}x)"
    )
    return out


if __name__ == "__main__":
    if "--child" in sys.argv:
        task_name, epochs, method, seed = sys.argv[-4:]
        print(json.dumps(child(task_name, int(epochs), method, int(seed))))
    else:
        main()
