"""Self-distillation loss (Be-Your-Own-Teacher): the deepest exit is the teacher.

    deepest exit:   CE(labels)
    each shallower: (1 - alpha) * CE(labels) + alpha * T^2 * KL(deepest_T || exit_T)
                    + feature_weight * MSE(projection(features_i), deepest features)

The deepest exit's logits and features are detached where they act as targets, so shallow
exits learn from the deep one and not the other way round. Temperature and alpha come from
the schedule: in a hard-labels-only stage every exit trains on the labels alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bridge.distill.losses import kd_loss


class SelfDistillLoss(nn.Module):
    def __init__(self, feature_widths: list[int], feature_weight: float) -> None:
        super().__init__()
        self.feature_weight = feature_weight
        deep = feature_widths[-1]
        # Trained with the student and never exported: they map shallow features to the
        # deepest layer's width for the hint loss.
        self.projections = nn.ModuleList(
            nn.Identity() if w == deep else nn.Linear(w, deep, bias=False)
            for w in feature_widths[:-1]
        )

    def forward(
        self,
        model: nn.Module,
        batch: list[torch.Tensor],
        labels: torch.Tensor,
        temperature: float,
        alpha: float,
    ) -> dict[str, torch.Tensor]:
        logits, features = model.forward_exits(*batch)
        deep_logits, deep_features = logits[-1], features[-1]
        hard = F.cross_entropy(deep_logits, labels)
        loss = hard
        soft_total = torch.zeros((), device=labels.device)
        hint_total = torch.zeros((), device=labels.device)
        target = deep_logits.detach()
        for exit_logits, feats, proj in zip(logits, features, self.projections, strict=False):
            exit_loss, soft, _ = kd_loss(exit_logits, labels, target, temperature, alpha)
            loss = loss + exit_loss
            soft_total = soft_total + soft
            if alpha > 0.0 and self.feature_weight:
                hint = F.mse_loss(proj(feats), deep_features.detach())
                loss = loss + self.feature_weight * hint
                hint_total = hint_total + hint
        shallow = max(1, len(logits) - 1)
        return {
            "loss": loss,
            "soft": soft_total / shallow,
            "hard": hard,
            "hidden": hint_total / shallow,
            "attention": torch.zeros((), device=labels.device),
        }
