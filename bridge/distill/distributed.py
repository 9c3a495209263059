"""Multi-worker training: PyTorch DistributedDataParallel started by torch.distributed's
elastic launcher (`python -m torch.distributed.run`, i.e. torchrun).

The job process writes a *job directory*: the untrained student (and its loss modules), the
training params, the input arrays as .npy files, and the path of the teacher-output cache.
Every worker (`python -m bridge.distill.ddp_worker JOB_DIR`) memory-maps the same arrays and
the same teacher cache (one copy on disk, shared page cache), trains its DistributedSampler
shard, and rank 0 writes the trained weights and its events. The job process then exports and
verifies exactly as for one worker. This is the local executor's path; a job on a Ray cluster
trains with Ray Train instead (bridge/distill/ray_train.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bridge.data.features import Features
from bridge.distill.feature_losses import FeatureAlignment
from bridge.distill.self_distill import SelfDistillLoss
from bridge.distill.trainer import TrainData, TrainOutcome, ddp_backend, training_device
from bridge.errors import DistillError
from bridge.events import (
    Event,
    EventSink,
    LogEvent,
    PhaseProgressEvent,
    ProgressEvent,
    StageEvent,
    ValidationEvent,
)
from bridge.spec import TrainingParams

EVENTS_FILE = "events.jsonl"
RESULT_FILE = "result.pt"
POLL_SECONDS = 0.2
_EVENT_TYPES = {
    c.__name__: c
    for c in (StageEvent, ProgressEvent, ValidationEvent, LogEvent, PhaseProgressEvent)
}


def write_job(
    job: Path,
    student: nn.Module,
    data: TrainData,
    val: TrainData,
    params: TrainingParams,
    teacher_cache: Path | None,
    feature_loss: FeatureAlignment | None = None,
    self_distill: SelfDistillLoss | None = None,
) -> None:
    """Everything a worker needs, as files a worker on another machine could read from a
    shared volume."""
    job.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "student": student,
            "feature_loss": feature_loss,
            "self_distill": self_distill,
            "params": params,
            "names": {"train": data.features.names, "val": val.features.names},
            "teacher_cache": str(teacher_cache) if teacher_cache and data.teacher else None,
            # compact or recomputed feature targets: the reader itself (it pickles without
            # open files or a loaded teacher; each worker opens or loads its own)
            "teacher_features": data.teacher.features if data.teacher else None,
        },
        job / "job.pt",
    )
    for split, d in (("train", data), ("val", val)):
        for i, array in enumerate(d.features.arrays):
            np.save(job / f"{split}.x{i}.npy", array)
        np.save(job / f"{split}.y.npy", d.y)


def read_job(job: Path) -> dict:
    """The job as the worker sees it: arrays memory-mapped, teacher outputs from the cache."""
    from bridge.distill.teacher_cache import open_split

    spec = torch.load(job / "job.pt", weights_only=False)
    data = {}
    for split in ("train", "val"):
        arrays = tuple(np.load(p, mmap_mode="r") for p in sorted(job.glob(f"{split}.x*.npy")))
        teacher = (
            open_split(Path(spec["teacher_cache"]), split)
            if split == "train" and spec["teacher_cache"]
            else None
        )
        if teacher is not None and spec.get("teacher_features") is not None:
            teacher = replace(teacher, features=spec["teacher_features"])
        data[split] = TrainData(
            Features(tuple(spec["names"][split]), arrays),
            np.load(job / f"{split}.y.npy"),
            teacher,
        )
    return {**spec, "train": data["train"], "val": data["val"]}


def train_distributed(
    job: Path,
    workers: int,
    student: nn.Module,
    data: TrainData,
    val: TrainData,
    params: TrainingParams,
    on_event: EventSink,
    *,
    teacher_cache: Path | None = None,
    feature_loss: FeatureAlignment | None = None,
    self_distill: SelfDistillLoss | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> TrainOutcome:
    """`train` on `workers` local processes: writes the job directory `job`, runs it, loads rank
    0's weights into `student` and removes the directory."""
    shutil.rmtree(job, ignore_errors=True)
    try:
        write_job(job, student, data, val, params, teacher_cache, feature_loss, self_distill)
        return _run_workers(job, workers, student, on_event, should_stop)
    finally:
        shutil.rmtree(job, ignore_errors=True)


def _run_workers(
    job: Path,
    workers: int,
    student: nn.Module,
    on_event: EventSink,
    should_stop: Callable[[], bool],
) -> TrainOutcome:
    """Runs the job directory on `workers` local processes and loads rank 0's weights into
    `student`. Events rank 0 emits are forwarded to `on_event` as they happen."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        f"--nproc_per_node={workers}",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        "-m",
        "bridge.distill.ddp_worker",
        str(job),
    ]
    threads = max(1, (os.cpu_count() or 1) // workers)  # workers must not oversubscribe cores
    env = {
        **os.environ,
        "PYTHONPATH": _package_root(),
        "GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", "lo"),
        "OMP_NUM_THREADS": str(threads),
    }
    backend = ddp_backend(training_device())
    on_event(LogEvent(f"DDP: {workers} workers via torch.distributed.run ({backend})"))
    log = (job / "launcher.log").open("w")
    proc = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    offset = 0
    try:
        while proc.poll() is None:
            if should_stop():
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait()
                raise InterruptedError("training stopped")
            offset = _forward_events(job / EVENTS_FILE, offset, on_event)
            time.sleep(POLL_SECONDS)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    _forward_events(job / EVENTS_FILE, offset, on_event)
    if proc.returncode != 0 or not (job / RESULT_FILE).is_file():
        tail = (job / "launcher.log").read_text()[-2000:]
        raise DistillError(f"distributed training failed (exit {proc.returncode}): {tail}")
    result = torch.load(job / RESULT_FILE, weights_only=False)
    student.load_state_dict(result["state"])
    student.eval()
    return TrainOutcome(**result["outcome"])


def event_line(event: Event) -> str:
    return json.dumps({"type": type(event).__name__, **asdict(event)})


def _forward_events(path: Path, offset: int, on_event: EventSink) -> int:
    if not path.is_file():
        return offset
    with path.open() as f:
        f.seek(offset)
        for line in iter(f.readline, ""):
            if not line.endswith("\n"):  # a line still being written: read it next time
                break
            raw = json.loads(line)
            on_event(_EVENT_TYPES[raw.pop("type")](**raw))
            offset = f.tell()
    return offset


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _package_root() -> str:
    """Workers import the same bridge as this process (a checkout, not only an install)."""
    return str(Path(__file__).resolve().parents[2])
