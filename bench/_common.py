"""Shared by the strategy benchmarks: one mid-size task that fits a 2-core machine, and the
seed's training loop (teacher and student in one loop) to compare the bridge against.

Task: a stratified 12,000-image subset of Fashion-MNIST (Debian `dataset-fashion-mnist`) as an
NPZ file; teacher: the zoo `fashion-mnist-cnn` recipe (3-block CNN 32-64-128), trained by the
bridge on that file's training split; student: `CnnConfig((16, 32))`.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from bridge.data.features import FLOAT_INPUT, Features
from bridge.spec import CnnConfig, Dataset

FASHION = Path(
    os.environ.get("DISTILL_BRIDGE_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
)
ROWS = 12_000
BATCH = 64
TEACHER = "fashion-mnist-cnn"
STUDENT = CnnConfig((16, 32))
TASK = f"fashion-mnist subset {ROWS} rows, teacher {TEACHER}, student cnn (16, 32), batch {BATCH}"


RESULTS = Path(__file__).resolve().parent / "results"


def machine_facts() -> dict:
    """What a reader needs to weigh a figure: cores, CPU, versions, date."""
    import onnxruntime

    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {
        "date": datetime.date.today().isoformat(),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def write_result(name: str, result: dict) -> Path:
    """Writes bench/results/<name>.json with the command that produced it and machine facts."""
    command = " ".join([Path(sys.executable).name, *sys.argv])
    out = RESULTS / f"{name}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"command": result.pop("command", command), "machine": machine_facts(), **result}
    out.write_text(json.dumps(payload, indent=2) + "\n")
    return out


def run_child(script: str, *args: str) -> dict:
    """Runs `python <script> --child <args>` in a fresh process (its own peak RSS and caches);
    returns the JSON object its last stdout line holds."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, script, "--child", *args],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def finish(name: str, result: dict, report: Callable[[dict, Path], str]) -> None:
    """Writes results/<name>.json and prints its report section."""
    path = write_result(name, result)
    print(path)
    print(report(json.loads(path.read_text()), RESULTS / "plots"))


def workdir() -> Path:
    path = Path(os.environ.get("BENCH_DIR", "/tmp/distill-bridge-bench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def bench_home() -> Path:
    """The bridge home the strategy benchmarks share: their zoo teachers, trained once on the
    benchmark data, and teacher-output caches."""
    return workdir() / "home"


def fashion_subset() -> Path:
    """The subset as NPZ (x: [N, 1, 28, 28] float32 in 0..255, y, labels), written once."""
    out = workdir() / f"fashion-{ROWS}.npz"
    if out.is_file():
        return out
    with gzip.open(FASHION / "train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(FASHION / "train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    rng = np.random.default_rng(0)
    per_class = ROWS // 10
    pick = np.sort(
        np.concatenate(
            [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(10)]
        )
    )
    np.savez(out, x=x[pick].astype(np.float32), y=y[pick])
    return out


def dataset_ref() -> Dataset:
    return Dataset.from_path(str(fashion_subset()), label_column="y")


def peak_rss_mb() -> float:
    """Peak RSS of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Current RSS of this process (VmRSS), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def custom_loss(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, alpha=0.5, temp=4.0):
    """The seed's CustomLoss."""
    soft = (
        F.kl_div(
            F.log_softmax(s / temp, 1),
            F.log_softmax(t / temp, 1),
            log_target=True,
            reduction="batchmean",
        )
        * temp**2
    )
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, y)


def seed_loop(
    student: torch.nn.Module,
    teacher: torch.nn.Module | None,
    x: np.ndarray | Features,
    y: np.ndarray,
    epochs: int,
    mode: str,
    batch: int = BATCH,
    lr: float = 2e-3,
    seed: int = 0,
) -> float:
    """The seed's loop: per batch, a teacher forward and a student step. mode "naive": teacher
    forward without no_grad (its graph is kept until backward); "no_grad": under no_grad;
    "student": no teacher at all (plain cross-entropy). `x` is an image/tabular array or model
    inputs (text: token ids and mask, trimmed per batch like the bridge's). Returns seconds."""
    features = x if isinstance(x, Features) else Features((FLOAT_INPUT,), (x,))
    opt = torch.optim.AdamW(student.parameters(), lr, weight_decay=1e-4)
    rng = np.random.default_rng(seed)
    ys = torch.from_numpy(y)
    start = time.perf_counter()
    for _ in range(epochs):
        student.train()
        order = rng.permutation(len(ys))
        for i in range(0, len(order), batch):
            idx = np.sort(order[i : i + batch])
            if len(idx) < 2:
                continue
            xb = [torch.from_numpy(a) for a in features.batch(idx)]
            yb = ys[idx]
            s = student(*xb)
            if mode == "student":
                loss = F.cross_entropy(s, yb)
            elif mode == "naive":
                loss = custom_loss(s, teacher(*xb), yb)
            else:
                with torch.no_grad():
                    t = teacher(*xb)
                loss = custom_loss(s, t, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return time.perf_counter() - start
