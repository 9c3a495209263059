"""Feature-level distillation, beyond logits.

- `FeatureLoss` (Transformer -> Transformer): hidden-state alignment per mapped layer (MSE,
  through a learned projection when widths differ) and attention-distribution KL (heads
  averaged when head counts differ).
- `SentenceAlignment` (Transformer -> MLP/CNN text student, an architecture with no layers or
  attention maps to pair): the student's pooled sentence feature, through a learned projection,
  is pulled towards the teacher's mean-pooled last hidden state (MSE).

Both are `FeatureAlignment`s: they say which cached teacher outputs a batch needs and turn a
student forward pass into (logits, hidden term, attention term). Projections are trained with
the student and never exported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bridge.distill.teacher_cache import TeacherOutputs
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


@dataclass(frozen=True)
class TeacherBatch:
    """One batch's rows of the cached teacher outputs."""

    logits: torch.Tensor
    hidden: dict[int, torch.Tensor] = field(default_factory=dict)
    attention: dict[int, torch.Tensor] = field(default_factory=dict)
    pooled: torch.Tensor | None = None

    def to(self, device: torch.device) -> TeacherBatch:
        return TeacherBatch(
            self.logits.to(device),
            {k: v.to(device) for k, v in self.hidden.items()},
            {k: v.to(device) for k, v in self.attention.items()},
            None if self.pooled is None else self.pooled.to(device),
        )


Terms = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # logits, hidden loss, attention loss


class FeatureAlignment(nn.Module):
    """A feature loss the trainer can drive without knowing the architecture pair."""

    hidden_weight: float
    attention_weight: float

    def read_teacher(
        self, teacher: TeacherOutputs, idx: np.ndarray, logits: torch.Tensor, width: int
    ) -> TeacherBatch:
        raise NotImplementedError

    def terms(self, student: nn.Module, batch: list[torch.Tensor], teacher: TeacherBatch) -> Terms:
        raise NotImplementedError


class FeatureLoss(FeatureAlignment):
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

    def read_teacher(
        self, teacher: TeacherOutputs, idx: np.ndarray, logits: torch.Tensor, width: int
    ) -> TeacherBatch:
        """Hidden states and attention maps trimmed to the batch's sequence `width`."""
        if teacher.features is not None:  # compact or recomputed
            hidden, attention = teacher.features.read(idx, width)
            return TeacherBatch(logits, hidden, attention)
        return TeacherBatch(
            logits,
            {
                t: torch.from_numpy(np.asarray(teacher.hidden[t][idx, :width]))
                for _, t in self.layer_map.hidden_pairs
                if t in teacher.hidden
            },
            {
                t: torch.from_numpy(np.asarray(teacher.attention[t][idx, :, :width, :width]))
                for _, t in self.layer_map.attention_pairs
                if t in teacher.attention
            },
        )

    def terms(self, student: nn.Module, batch: list[torch.Tensor], teacher: TeacherBatch) -> Terms:
        logits, hidden, attention = student.forward_features(*batch)
        h, a = self(hidden, attention, teacher.hidden, teacher.attention, batch[1])
        return logits, h, a

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


class SentenceAlignment(FeatureAlignment):
    """MSE between the projected student sentence feature and the teacher's mean-pooled last
    hidden state (`OutputRequest(pooled=True)`)."""

    def __init__(self, student_width: int, teacher_width: int, weight: float) -> None:
        super().__init__()
        self.hidden_weight = weight
        self.attention_weight = 0.0
        self.projection = nn.Linear(student_width, teacher_width)

    def read_teacher(
        self, teacher: TeacherOutputs, idx: np.ndarray, logits: torch.Tensor, width: int
    ) -> TeacherBatch:
        if teacher.pooled is None:
            raise ValueError("the teacher cache holds no pooled sentence features")
        return TeacherBatch(logits, pooled=torch.from_numpy(np.asarray(teacher.pooled[idx])))

    def terms(self, student: nn.Module, batch: list[torch.Tensor], teacher: TeacherBatch) -> Terms:
        logits, feature = student.forward_features(*batch)
        assert teacher.pooled is not None
        loss = F.mse_loss(self.projection(feature), teacher.pooled.float())
        return logits, loss, torch.zeros((), device=loss.device)


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
