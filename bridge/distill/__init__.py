"""Losses and the training loop."""

from bridge.distill.losses import kd_loss
from bridge.distill.trainer import TrainOutcome, accuracy, evaluate, predict_logits, train

__all__ = ["TrainOutcome", "accuracy", "evaluate", "kd_loss", "predict_logits", "train"]
