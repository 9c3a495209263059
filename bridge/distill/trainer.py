"""The training loop: seeded, scheduled in stages, validated each epoch, best checkpoint kept.

Teacher outputs arrive precomputed (memory-mapped, see teacher_cache): the loop holds only
the student. Each optimizer step asks the schedule (bridge.schedule) for its stage,
temperature, alpha and learning-rate scale; a stage that does not use the teacher never reads
its outputs. Everything a step differentiates (student, feature-loss projections, self-
distillation exits) sits in one `StepLoss` module, so under torch.distributed the loop wraps
that one module in DistributedDataParallel and shards rows with a DistributedSampler.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DistributedSampler

from bridge.data.features import Features
from bridge.distill.feature_losses import FeatureAlignment, TeacherBatch
from bridge.distill.losses import kd_loss
from bridge.distill.self_distill import SelfDistillLoss
from bridge.distill.teacher_cache import TeacherOutputs
from bridge.errors import DistillError
from bridge.events import EventSink, ProgressEvent, StageEvent, ValidationEvent, ignore_events
from bridge.progress import PhaseProgress
from bridge.schedule import Schedule
from bridge.spec import TrainingParams

PROGRESS_EVENTS_PER_EPOCH = 10
# The learning rate holds, then decays along a half cosine over this last share of the steps
# (warmup-stable-decay without the warm-up). Against a cosine decay over all steps (3 seeds,
# bench/README.md "Budgets"): +0.4 to +0.8 points on fashion-12k and +8 to +18 on digits at 5
# epochs, +1.2 to +1.9 on digits at 20: a whole-run decay left short budgets undertrained.
LR_DECAY_SHARE = 0.3
DEVICE_ENV = "DISTILL_BRIDGE_DEVICE"


def training_device() -> torch.device:
    """Where the student trains: $DISTILL_BRIDGE_DEVICE = "auto" (default: this rank's GPU when
    CUDA is available, else the CPU), "cpu" or "cuda". Under torch.distributed each rank takes
    the GPU of its LOCAL_RANK."""
    wanted = os.environ.get(DEVICE_ENV, "auto").lower()
    if wanted not in ("auto", "cpu", "cuda"):
        raise DistillError(f"{DEVICE_ENV} must be auto, cpu or cuda, got {wanted!r}")
    if wanted == "cpu" or (wanted == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DistillError(f"{DEVICE_ENV}=cuda, but this machine has no usable CUDA device")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def ddp_backend(device: torch.device) -> str:
    """NCCL between GPUs, gloo between CPU processes."""
    return "nccl" if device.type == "cuda" else "gloo"


@dataclass(frozen=True)
class TrainData:
    features: Features
    y: np.ndarray  # -1 = no label (pure soft-label distillation)
    teacher: TeacherOutputs | None = None


@dataclass
class TrainOutcome:
    best_epoch: int
    best_val_accuracy: float
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    cpu_seconds: float = 0.0  # this process's CPU time (all threads) while training


def seed_everything(seed: int) -> np.random.Generator:
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def train(
    model: nn.Module,
    data: TrainData,
    val: TrainData,
    params: TrainingParams,
    on_event: EventSink,
    *,
    feature_loss: FeatureAlignment | None = None,
    self_distill: SelfDistillLoss | None = None,
    weight_decay: float = 1e-4,
    should_stop: Callable[[], bool] = lambda: False,
    phase: str = "train",
) -> TrainOutcome:
    """Trains `model` in place and leaves it holding the weights of its best validation epoch
    (ties broken by lower validation loss). Under torch.distributed every rank calls this with
    the same arguments; rank r trains on its shard and gradients are averaged by DDP."""
    seed_everything(params.seed)
    schedule = params.resolved_schedule()
    rank, world = _world()
    sampler = DistributedSampler(
        range(len(data.y)), num_replicas=world, rank=rank, shuffle=True, seed=params.seed
    )
    batch_size = max(1, params.batch_size // world)  # the global batch stays batch_size
    steps_per_epoch = math.ceil(len(sampler) / batch_size)
    total_steps = steps_per_epoch * params.epochs
    device = training_device()
    step_loss = StepLoss(model, feature_loss, self_distill).to(device)
    # fused: one kernel per step instead of a Python loop over parameters (about 30% less
    # CPU per step for small students; same update rule)
    optimizer = torch.optim.AdamW(
        step_loss.parameters(), params.learning_rate, weight_decay=weight_decay, fused=True
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: learning_rate_scale(s, total_steps) * schedule.at(s, total_steps).lr_scale,
    )
    gpu = [device.index] if device.type == "cuda" else None
    trainer = DDP(step_loss, gpu, find_unused_parameters=True) if world > 1 else step_loss
    report_every = max(1, steps_per_epoch // PROGRESS_EVENTS_PER_EPOCH)
    has_batch_norm = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    y = torch.from_numpy(data.y)

    best_acc, best_loss, best_epoch = -1.0, math.inf, 0
    best_state = copy.deepcopy(model.state_dict())
    history: list[dict[str, float]] = []
    stage_index = -1
    start, cpu_start = time.perf_counter(), time.process_time()
    progress = PhaseProgress(
        on_event if rank == 0 else ignore_events,
        phase,
        total_steps,
        "steps",
        f"{params.epochs} epoch(s) of {steps_per_epoch} steps",
    )
    for epoch in range(1, params.epochs + 1):
        step_loss.train()
        sampler.set_epoch(epoch)
        order = np.fromiter(sampler, dtype=np.int64)
        for step, i in enumerate(range(0, len(order), batch_size), start=1):
            if should_stop():
                raise InterruptedError("training stopped")
            global_step = (epoch - 1) * steps_per_epoch + step - 1
            point = schedule.at(global_step, total_steps)
            if point.stage_index != stage_index:  # every stage change is an event
                stage_index = point.stage_index
                on_event(
                    StageEvent(f"train.{point.stage}", schedule.describe(stage_index, total_steps))
                )
            idx = np.sort(order[i : i + batch_size])  # sorted: sequential mmap reads
            if len(idx) < 2 and has_batch_norm:
                continue  # batch-norm cannot train on a single sample (same on every rank)
            batch = [torch.from_numpy(a).to(device) for a in data.features.batch(idx)]
            teacher = _teacher_batch(data.teacher, idx, batch, feature_loss, point.alpha)
            if teacher is not None:
                teacher = teacher.to(device)
            terms = trainer(batch, y[idx].to(device), teacher, point.temperature, point.alpha)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            optimizer.step()
            scheduler.step()
            progress.update(global_step + 1, epoch=epoch)
            if step % report_every == 0 or step == steps_per_epoch:
                progress.figures["loss"] = terms["loss"].item()
                on_event(
                    ProgressEvent(
                        epoch,
                        params.epochs,
                        step,
                        steps_per_epoch,
                        *(terms[k].item() for k in ("loss", "soft", "hard")),
                        scheduler.get_last_lr()[0],
                        point.temperature,
                        point.alpha,
                        terms["hidden"].item(),
                        terms["attention"].item(),
                    )
                )
        val_acc, val_loss = evaluate(model, val.features, val.y)
        best = val_acc > best_acc or (val_acc == best_acc and val_loss < best_loss)
        if best:
            best_acc, best_loss, best_epoch = val_acc, val_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        history.append({"epoch": epoch, "val_accuracy": val_acc, "val_loss": val_loss})
        on_event(ValidationEvent(epoch, val_acc, val_loss, best))
        progress.figures["val_accuracy"] = val_acc
    progress.finish()
    model.load_state_dict(best_state)
    model.to("cpu").eval()  # export, verification and DDP hand-over all run on the CPU
    return TrainOutcome(
        best_epoch,
        best_acc,
        time.perf_counter() - start,
        history,
        time.process_time() - cpu_start,
    )


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def learning_rate_scale(step: int, total: int) -> float:
    """1 until the last LR_DECAY_SHARE of `total` steps, then a half cosine down to 0."""
    decay_start = (1.0 - LR_DECAY_SHARE) * total
    if step <= decay_start:
        return 1.0
    progress = min(1.0, (step - decay_start) / max(1.0, total - decay_start))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def _teacher_batch(
    teacher: TeacherOutputs | None,
    idx: np.ndarray,
    batch: list[torch.Tensor],
    feature_loss: FeatureAlignment | None,
    alpha: float,
) -> TeacherBatch | None:
    """This batch's rows of the memory-mapped teacher outputs; None (nothing read) when the
    stage does not use the teacher."""
    if teacher is None or alpha == 0.0:
        return None
    logits = torch.from_numpy(np.asarray(teacher.logits[idx]))
    if feature_loss is None:
        return TeacherBatch(logits)
    return feature_loss.read_teacher(teacher, idx, logits, batch[0].shape[1])


class StepLoss(nn.Module):
    """One step's loss terms: `alpha * soft + (1 - alpha) * hard`, plus feature terms for
    Transformer pairs, or the Be-Your-Own-Teacher exits for self-distillation."""

    def __init__(
        self,
        student: nn.Module,
        feature_loss: FeatureAlignment | None = None,
        self_distill: SelfDistillLoss | None = None,
    ) -> None:
        super().__init__()
        self.student = student
        self.feature_loss = feature_loss
        self.self_distill = self_distill

    def forward(
        self,
        batch: list[torch.Tensor],
        labels: torch.Tensor,
        teacher: TeacherBatch | None,
        temperature: float,
        alpha: float,
    ) -> dict[str, torch.Tensor]:
        zero = torch.zeros((), device=labels.device)
        if self.self_distill is not None:
            return self.self_distill(self.student, batch, labels, temperature, alpha)
        hidden_loss = attention_loss = zero
        if self.feature_loss is not None and teacher is not None:
            logits, hidden_loss, attention_loss = self.feature_loss.terms(
                self.student, batch, teacher
            )
        else:
            logits = self.student(*batch)
        t_logits = teacher.logits if teacher is not None else None
        loss, soft, hard = kd_loss(logits, labels, t_logits, temperature, alpha)
        if self.feature_loss is not None and teacher is not None:
            fl = self.feature_loss
            loss = loss + fl.hidden_weight * hidden_loss + fl.attention_weight * attention_loss
        return {
            "loss": loss,
            "soft": soft,
            "hard": hard,
            "hidden": hidden_loss,
            "attention": attention_loss,
        }


def evaluate(model: nn.Module, features: Features, y: np.ndarray) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of `model` on labelled rows."""
    logits = predict_logits(model, features)
    labelled = y >= 0
    if not labelled.any():
        return 0.0, math.nan
    loss = float(F.cross_entropy(torch.from_numpy(logits[labelled]), torch.from_numpy(y[labelled])))
    return accuracy(logits, y), loss


def predict_logits(model: nn.Module, features: Features, batch_size: int = 256) -> np.ndarray:
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.inference_mode():
        out = [
            model(
                *(torch.from_numpy(a).to(device) for a in features.batch(slice(i, i + batch_size)))
            )
            .cpu()
            .numpy()
            for i in range(0, len(features), batch_size)
        ]
    model.train(was_training)
    return np.concatenate(out)


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    labelled = y >= 0
    return float((logits.argmax(axis=1)[labelled] == y[labelled]).mean())


def soft_targets_only(params: TrainingParams) -> TrainingParams:
    """Unlabeled data has no hard labels to warm up or fine-tune on: every stage of the
    schedule learns from the teacher alone (alpha 1), keeping its temperatures and rates."""
    schedule = params.resolved_schedule()
    stages = tuple(replace(s, alpha_start=1.0, alpha_end=1.0) for s in schedule.stages)
    return replace(params, schedule=Schedule(schedule.name, stages), temperature=None, alpha=None)
