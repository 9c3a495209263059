"""Feature-level distillation for Transformer pairs: hidden-state alignment (MSE, through a
learned projection when widths differ) and attention-distribution KL per mapped layer (heads
averaged when head counts differ)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bridge.spec import SpecError

EPS = 1e-8


@dataclass(frozen=True)
class LayerMap:
    """Student layer s (1-based) is aligned with teacher layer `teacher[s-1]` (1-based)."""

    teacher: tuple[int, ...]

    @classmethod
    def build(
        cls, student_layers: int, teacher_layers: int, given: tuple[int, ...] = ()
    ) -> LayerMap:
        if given:
            if len(given) != student_layers or max(given) > teacher_layers:
                raise SpecError(
                    "training.layer_map",
                    f"needs {student_layers} teacher layers in 1..{teacher_layers}, "
                    f"got {list(given)}",
                )
            return cls(given)
        step = teacher_layers / student_layers  # uniform: 6 -> 2 maps to layers 3 and 6
        return cls(tuple(round(step * (s + 1)) for s in range(student_layers)))

    @property
    def hidden_pairs(self) -> list[tuple[int, int]]:
        """(student, teacher) indices into hidden_states; 0 is the embedding output."""
        return [(0, 0)] + [(s + 1, t) for s, t in enumerate(self.teacher)]

    @property
    def attention_pairs(self) -> list[tuple[int, int]]:
        """(student, teacher) 0-based attention layers."""
        return [(s, t - 1) for s, t in enumerate(self.teacher)]


class FeatureLoss(nn.Module):
    def __init__(
        self,
        layer_map: LayerMap,
        student_width: int,
        teacher_width: int,
        average_heads: bool,
        hidden_weight: float,
        attention_weight: float,
    ) -> None:
        super().__init__()
        self.layer_map = layer_map
        self.average_heads = average_heads
        self.hidden_weight = hidden_weight
        self.attention_weight = attention_weight
        # Trained with the student, not exported: it only maps student features to the
        # teacher's width for the loss.
        self.projection = (
            nn.Identity()
            if student_width == teacher_width
            else nn.Linear(student_width, teacher_width, bias=False)
        )

    def forward(
        self,
        hidden: tuple[torch.Tensor, ...],
        attention: tuple[torch.Tensor, ...],
        teacher_hidden: dict[int, torch.Tensor],
        teacher_attention: dict[int, torch.Tensor],
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        zero = torch.zeros((), device=mask.device)
        h_loss = zero
        if self.hidden_weight:
            h_loss = torch.stack(
                [
                    masked_mse(self.projection(hidden[s]), teacher_hidden[t].float(), mask)
                    for s, t in self.layer_map.hidden_pairs
                ]
            ).mean()
        a_loss = zero
        if self.attention_weight:
            a_loss = torch.stack(
                [
                    attention_kl(
                        attention[s], teacher_attention[t].float(), mask, self.average_heads
                    )
                    for s, t in self.layer_map.attention_pairs
                ]
            ).mean()
        return h_loss, a_loss


def masked_mse(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over real (unpadded) tokens."""
    weights = mask.unsqueeze(-1).to(student.dtype)
    return ((student - teacher) ** 2 * weights).sum() / (weights.sum() * student.shape[-1])


def attention_kl(
    student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor, average_heads: bool
) -> torch.Tensor:
    """KL(teacher || student) of each real query's attention distribution, averaged over
    queries and heads. Teacher maps arrive head-averaged when `average_heads`."""
    if average_heads:
        student = student.mean(dim=1, keepdim=True)
    kl = (teacher * ((teacher + EPS).log() - (student + EPS).log())).sum(dim=-1)  # [B, H, L]
    queries = mask.unsqueeze(1).to(kl.dtype)
    return (kl * queries).sum() / (queries.sum() * kl.shape[1])
