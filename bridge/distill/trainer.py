"""The training loop: seeded, validated each epoch, best checkpoint kept.

Teacher outputs arrive precomputed (memory-mapped, see teacher_cache): the loop holds only
the student. For Transformer pairs a `FeatureLoss` adds hidden-state and attention terms.
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

from bridge.data.features import Features
from bridge.distill.feature_losses import FeatureLoss
from bridge.distill.losses import kd_loss
from bridge.distill.teacher_cache import TeacherOutputs
from bridge.events import EventSink, ProgressEvent, ValidationEvent
from bridge.spec import TrainingParams

PROGRESS_EVENTS_PER_EPOCH = 10


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
    feature_loss: FeatureLoss | None = None,
    weight_decay: float = 1e-4,
    should_stop: Callable[[], bool] = lambda: False,
) -> TrainOutcome:
    """Trains `model` in place and leaves it holding the weights of its best validation epoch
    (ties broken by lower validation loss)."""
    rng = seed_everything(params.seed)
    y = torch.from_numpy(data.y)
    steps_per_epoch = math.ceil(len(y) / params.batch_size)
    trainable = list(model.parameters()) + (
        list(feature_loss.parameters()) if feature_loss is not None else []
    )
    optimizer = torch.optim.AdamW(trainable, params.learning_rate, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=steps_per_epoch * params.epochs
    )
    report_every = max(1, steps_per_epoch // PROGRESS_EVENTS_PER_EPOCH)
    has_batch_norm = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())

    best_acc, best_loss, best_epoch = -1.0, math.inf, 0
    best_state = copy.deepcopy(model.state_dict())
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    for epoch in range(1, params.epochs + 1):
        model.train()
        order = rng.permutation(len(y))
        for step, i in enumerate(range(0, len(y), params.batch_size), start=1):
            if should_stop():
                raise InterruptedError("training stopped")
            idx = np.sort(order[i : i + params.batch_size])  # sorted: sequential mmap reads
            if len(idx) < 2 and has_batch_norm:
                continue  # batch-norm cannot train on a single sample
            terms = _step_loss(model, data, idx, y, params, feature_loss)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            optimizer.step()
            scheduler.step()
            if step % report_every == 0 or step == steps_per_epoch:
                on_event(
                    ProgressEvent(
                        epoch,
                        params.epochs,
                        step,
                        steps_per_epoch,
                        *(terms[k].item() for k in ("loss", "soft", "hard")),
                        scheduler.get_last_lr()[0],
                        params.temperature,
                        params.alpha,
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
    model.load_state_dict(best_state)
    model.eval()
    return TrainOutcome(best_epoch, best_acc, time.perf_counter() - start, history)


def _step_loss(
    model: nn.Module,
    data: TrainData,
    idx: np.ndarray,
    y: torch.Tensor,
    params: TrainingParams,
    feature_loss: FeatureLoss | None,
) -> dict[str, torch.Tensor]:
    batch = [torch.from_numpy(a) for a in data.features.batch(idx)]
    teacher = data.teacher
    zero = torch.zeros(())
    hidden_loss = attention_loss = zero
    if feature_loss is not None and teacher is not None:
        logits, hidden, attention = model.forward_features(*batch)
        width = batch[0].shape[1]
        t_hidden = {
            t: torch.from_numpy(np.asarray(teacher.hidden[t][idx, :width]))
            for _, t in feature_loss.layer_map.hidden_pairs
        }
        t_attention = {
            t: torch.from_numpy(np.asarray(teacher.attention[t][idx, :, :width, :width]))
            for _, t in feature_loss.layer_map.attention_pairs
        }
        hidden_loss, attention_loss = feature_loss(
            hidden, attention, t_hidden, t_attention, batch[1]
        )
    else:
        logits = model(*batch)
    t_logits = torch.from_numpy(np.asarray(teacher.logits[idx])) if teacher is not None else None
    loss, soft, hard = kd_loss(logits, y[idx], t_logits, params.temperature, params.alpha)
    if feature_loss is not None:
        loss = loss + params.hidden_weight * hidden_loss + params.attention_weight * attention_loss
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
    with torch.inference_mode():
        out = [
            model(*map(torch.from_numpy, features.batch(slice(i, i + batch_size)))).numpy()
            for i in range(0, len(features), batch_size)
        ]
    model.train(was_training)
    return np.concatenate(out)


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    labelled = y >= 0
    return float((logits.argmax(axis=1)[labelled] == y[labelled]).mean())
