"""Distillation losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kd_loss(
    student_logits: torch.Tensor,
    labels: torch.Tensor,
    teacher_logits: torch.Tensor | None,
    temperature: float,
    alpha: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The seed's CustomLoss: alpha * soft + (1 - alpha) * hard.

    soft = T^2 * KL(softmax(teacher/T) || softmax(student/T)) — the T^2 keeps its gradient
    scale independent of T (Hinton et al.); hard = cross-entropy with the true labels.
    Returns (loss, soft, hard); without teacher logits or with alpha 0 it is plain CE.
    """
    # -1 marks unlabeled rows (soft targets only): the mean runs over the labelled rows
    hard = (
        F.cross_entropy(student_logits, labels, ignore_index=-1)
        if bool((labels >= 0).any())
        else torch.zeros((), device=student_logits.device)
    )
    if teacher_logits is None or alpha == 0.0:
        return hard, torch.zeros((), device=hard.device), hard
    soft = F.kl_div(
        F.log_softmax(student_logits / temperature, dim=-1),
        F.log_softmax(teacher_logits / temperature, dim=-1),
        log_target=True,
        reduction="batchmean",
    ) * (temperature**2)
    return alpha * soft + (1.0 - alpha) * hard, soft, hard
