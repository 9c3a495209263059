"""Losses, the teacher-output cache and the training loop."""

from bridge.distill.losses import kd_loss
from bridge.distill.trainer import (
    TrainData,
    TrainOutcome,
    accuracy,
    evaluate,
    predict_logits,
    train,
)

__all__ = [
    "TrainData",
    "TrainOutcome",
    "accuracy",
    "evaluate",
    "kd_loss",
    "predict_logits",
    "train",
]
