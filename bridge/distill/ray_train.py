"""One job across many workers on a Ray cluster: Ray Train's `TorchTrainer` runs `train` on
`workers` ranks (gloo on CPU, NCCL with one GPU per rank), wherever the cluster has room.

The job's arrays and the teacher's cached outputs are put into Ray's object store once; every
rank reads them from there (zero-copy on its node), so the teacher never runs again and no
shared volume is needed. Rank 0 sends its events and, at the end, its trained weights to a
small actor on the job's own node, which this process polls: a checkpoint directory every node
can reach is not needed either. Used when the job itself runs on Ray (`serve --executor ray`);
without Ray, `bridge.distill.distributed` starts the ranks with torchrun.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bridge.distill.feature_losses import FeatureAlignment
from bridge.distill.self_distill import SelfDistillLoss
from bridge.distill.trainer import TrainData, TrainOutcome
from bridge.errors import DistillError
from bridge.events import Event, EventSink, LogEvent
from bridge.spec import TrainingParams

POLL_SECONDS = 0.2


class _RankZeroSink:
    """A Ray actor on the job's node: rank 0's events as they happen, then its result."""

    def __init__(self) -> None:
        self._events: collections.deque[Event] = collections.deque()
        self._result: dict | None = None

    def joined(self, rank: int, node: str) -> None:
        """Each rank says where it runs, for the job's events."""
        self._events.append(LogEvent(f"DDP rank {rank} on Ray node {node}"))

    def event(self, event: Event) -> None:
        self._events.append(event)

    def finish(self, result: dict) -> None:
        self._result = result

    def take(self) -> tuple[list[Event], dict | None]:
        events = list(self._events)
        self._events.clear()
        return events, self._result


def _train_loop(config: dict[str, Any]) -> None:
    """Every rank: Ray Train has set up the process group; `train` wraps the student in DDP
    and trains this rank's shard."""
    import ray

    from bridge.distill.trainer import train, training_device

    job = ray.get(config["job"])
    sink = config["sink"]
    rank = torch.distributed.get_rank()
    ray.get(sink.joined.remote(rank, ray.get_runtime_context().get_node_id()[:12]))
    device = training_device()  # this rank's GPU (LOCAL_RANK, set by Ray Train) or the CPU
    if device.type == "cuda":
        torch.cuda.set_device(device)

    def on_event(event: Event) -> None:
        if rank == 0:
            sink.event.remote(event)

    student = job["student"]
    outcome = train(
        student,
        job["train"],
        job["val"],
        job["params"],
        on_event,
        feature_loss=job["feature_loss"],
        self_distill=job["self_distill"],
    )
    if rank == 0:
        state = {k: v.cpu() for k, v in student.state_dict().items()}
        ray.get(sink.finish.remote({"state": state, "outcome": asdict(outcome)}))


def train_on_ray(
    address: str,
    workers: int,
    student: nn.Module,
    data: TrainData,
    val: TrainData,
    params: TrainingParams,
    on_event: EventSink,
    *,
    storage: Path,
    feature_loss: FeatureAlignment | None = None,
    self_distill: SelfDistillLoss | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> TrainOutcome:
    """`train` on `workers` Ray Train ranks; loads rank 0's weights into `student`. `storage`
    is a local directory for Ray Train's run records (no checkpoints are written there)."""
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    ray.init(address=address, log_to_driver=False, ignore_reinit_error=True)
    use_gpu = _gpu_per_rank(workers)
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    sink = ray.remote(_RankZeroSink).options(num_cpus=0, scheduling_strategy=here).remote()
    job = {
        "student": student,
        "train": data,
        "val": val,
        "params": params,
        "feature_loss": feature_loss,
        "self_distill": self_distill,
    }
    trainer = TorchTrainer(
        _train_loop,
        train_loop_config={"job": ray.put(job), "sink": sink},
        # SPREAD (best effort): ranks on different nodes do not share one node's cores and
        # memory bandwidth, and a GPU node gives each rank its own device.
        scaling_config=ScalingConfig(
            num_workers=workers, use_gpu=use_gpu, placement_strategy="SPREAD"
        ),
        run_config=RunConfig(storage_path=str(storage), name="ddp"),
    )
    backend = "nccl" if use_gpu else "gloo"
    on_event(LogEvent(f"DDP: {workers} workers via Ray Train ({backend})"))
    failure: list[BaseException] = []
    fit = threading.Thread(target=_fit, args=(trainer, failure), daemon=True, name="ray-train")
    fit.start()
    result = _follow(sink, fit, on_event, should_stop)
    if failure or result is None:
        reason = _last_line(failure[0]) if failure else "rank 0 sent no result"
        raise DistillError(f"distributed training on Ray failed: {reason}")
    student.load_state_dict(result["state"])
    student.eval()
    return TrainOutcome(**result["outcome"])


def _gpu_per_rank(workers: int) -> bool:
    """NCCL on GPUs when the cluster has one per rank and the job may use them
    ($DISTILL_BRIDGE_DEVICE, as for one worker)."""
    import os

    import ray

    from bridge.distill.trainer import DEVICE_ENV

    if os.environ.get(DEVICE_ENV, "auto").lower() == "cpu":
        return False
    return ray.cluster_resources().get("GPU", 0) >= workers


def _fit(trainer: Any, failure: list[BaseException]) -> None:
    try:
        trainer.fit()
    except BaseException as e:  # reported by train_on_ray, in the job's thread
        failure.append(e)


def _follow(
    sink: Any, fit: threading.Thread, on_event: EventSink, should_stop: Callable[[], bool]
) -> dict | None:
    """Forwards rank 0's events until training ends; its result (None if it sent none)."""
    import ray

    result = None
    while True:
        done = not fit.is_alive()
        events, result = ray.get(sink.take.remote())
        for event in events:
            on_event(event)
        if done:
            return result
        if should_stop():
            raise InterruptedError("training stopped")  # the ranks end with this process
        time.sleep(POLL_SECONDS)


def _last_line(e: BaseException) -> str:
    """Ray Train's error ends with the rank's own exception (its first lines are generic)."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return lines[-1] if lines else type(e).__name__
