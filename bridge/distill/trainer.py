"""The training loop: seeded, validated each epoch, best checkpoint kept.

Teacher outputs arrive as a precomputed array (computed once under inference mode, the
teacher already released), so the loop holds only the student in memory.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bridge.data import LoadedDataset, Split
from bridge.distill.losses import kd_loss
from bridge.events import EventSink, ProgressEvent, ValidationEvent
from bridge.spec import TrainingParams

PROGRESS_EVENTS_PER_EPOCH = 10


@dataclass
class TrainOutcome:
    best_epoch: int
    best_val_accuracy: float
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    return torch.Generator().manual_seed(seed)


def train(
    model: nn.Module,
    dataset: LoadedDataset,
    params: TrainingParams,
    teacher_logits: np.ndarray | None,
    on_event: EventSink,
    *,
    weight_decay: float = 1e-4,
    should_stop: Callable[[], bool] = lambda: False,
) -> TrainOutcome:
    """Trains `model` in place on `dataset.train` and leaves it holding the weights of its best
    validation epoch. With `teacher_logits` ([N_train, classes]) the loss is KD; without, CE."""
    gen = seed_everything(params.seed)
    x = torch.from_numpy(dataset.train.x)
    y = torch.from_numpy(dataset.train.y)
    t_logits = torch.from_numpy(teacher_logits) if teacher_logits is not None else None
    steps_per_epoch = math.ceil(len(y) / params.batch_size)
    total_steps = steps_per_epoch * params.epochs
    optimizer = torch.optim.AdamW(
        model.parameters(), params.learning_rate, weight_decay=weight_decay
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    report_every = max(1, steps_per_epoch // PROGRESS_EVENTS_PER_EPOCH)

    best_acc, best_loss, best_epoch, best_state = (
        -1.0,
        math.inf,
        0,
        copy.deepcopy(model.state_dict()),
    )
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    for epoch in range(1, params.epochs + 1):
        model.train()
        order = torch.randperm(len(y), generator=gen)
        for step, i in enumerate(range(0, len(y), params.batch_size), start=1):
            if should_stop():
                raise InterruptedError("training stopped")
            idx = order[i : i + params.batch_size]
            if len(idx) < 2 and any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
                continue  # batch-norm cannot train on a single sample
            logits = model(x[idx])
            loss, soft, hard = kd_loss(
                logits,
                y[idx],
                t_logits[idx] if t_logits is not None else None,
                params.temperature,
                params.alpha,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if step % report_every == 0 or step == steps_per_epoch:
                on_event(
                    ProgressEvent(
                        epoch,
                        params.epochs,
                        step,
                        steps_per_epoch,
                        loss.item(),
                        soft.item(),
                        hard.item(),
                        scheduler.get_last_lr()[0],
                        params.temperature,
                        params.alpha,
                    )
                )
        val_acc, val_loss = evaluate(model, dataset.val)
        best = val_acc > best_acc or (val_acc == best_acc and val_loss < best_loss)
        if best:
            best_acc, best_loss, best_epoch = val_acc, val_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        history.append({"epoch": epoch, "val_accuracy": val_acc, "val_loss": val_loss})
        on_event(ValidationEvent(epoch, val_acc, val_loss, best))
    model.load_state_dict(best_state)
    model.eval()
    return TrainOutcome(best_epoch, best_acc, time.perf_counter() - start, history)


def evaluate(model: nn.Module, split: Split, batch_size: int = 1024) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of `model` on `split`."""
    logits = predict_logits(model, split.x, batch_size)
    y = torch.from_numpy(split.y)
    loss = float(F.cross_entropy(torch.from_numpy(logits), y))
    return accuracy(logits, split.y), loss


def predict_logits(model: nn.Module, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        out = [
            model(torch.from_numpy(x[i : i + batch_size])).numpy()
            for i in range(0, len(x), batch_size)
        ]
    model.train(was_training)
    return np.concatenate(out)


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float((logits.argmax(axis=1) == y).mean())
