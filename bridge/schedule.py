"""Training schedules: what the loss looks like at each optimizer step.

A schedule is a list of stages, each a share of all training steps. Within a stage the
temperature and alpha (the teacher's participation) move from their start to their end value,
linearly or along a half cosine; `lr_scale` multiplies the base learning rate (held, then
decayed over the last 30% of steps: `bridge.distill.trainer.learning_rate_scale`).
A stage with alpha 0 at both ends never reads the teacher.

The progressive preset (the default) is the seed's multi-stage recipe:

    warm-up      first 20%   hard labels only
    distill      next 70%    temperature 4 -> 1, alpha 0.9 -> 0.5 (both along a half cosine)
    fine-tune    last 10%    teacher released, hard labels only, learning rate x0.1

This module sits beside `bridge.spec` (it is part of the job description and imports no torch;
`bridge.distill` imports the spec, so it cannot live there): spec, trainer and doors share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ANNEALS = ("linear", "cosine")
FRACTION_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Stage:
    name: str
    fraction: float  # share of all optimizer steps
    temperature_start: float = 4.0
    temperature_end: float = 4.0
    alpha_start: float = 0.5
    alpha_end: float = 0.5
    anneal: str = "linear"  # how temperature and alpha move within the stage
    lr_scale: float = 1.0

    @property
    def uses_teacher(self) -> bool:
        return self.alpha_start > 0.0 or self.alpha_end > 0.0


@dataclass(frozen=True)
class SchedulePoint:
    """The loss settings at one step."""

    stage_index: int
    stage: str
    temperature: float
    alpha: float
    lr_scale: float


@dataclass(frozen=True)
class Schedule:
    name: str
    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))

    @classmethod
    def constant(cls, temperature: float = 4.0, alpha: float = 0.5) -> Schedule:
        """The seed's CustomLoss: one stage, fixed temperature and alpha."""
        return cls("constant", (Stage("distill", 1.0, temperature, temperature, alpha, alpha),))

    @classmethod
    def progressive(
        cls,
        warmup: float = 0.2,
        finetune: float = 0.1,
        temperature: tuple[float, float] = (4.0, 1.0),
        alpha: tuple[float, float] = (0.9, 0.5),
        anneal: str = "cosine",
        finetune_lr_scale: float = 0.1,
    ) -> Schedule:
        """Warm-up on hard labels, annealed distillation, fine-tuning without the teacher."""
        stages = []
        if warmup > 0:
            stages.append(Stage("warmup", warmup, temperature[0], temperature[0], 0.0, 0.0))
        stages.append(
            Stage("distill", 1.0 - warmup - finetune, *temperature, *alpha, anneal=anneal)
        )
        if finetune > 0:
            t_end = temperature[1]
            stages.append(
                Stage("finetune", finetune, t_end, t_end, 0.0, 0.0, lr_scale=finetune_lr_scale)
            )
        return cls("progressive", tuple(stages))

    @classmethod
    def custom(cls, *stages: Stage) -> Schedule:
        return cls("custom", stages)

    def at(self, step: int, total_steps: int) -> SchedulePoint:
        """Settings for optimizer step `step` (0-based) of `total_steps`. Stage boundaries
        fall at round(cumulative fraction * total_steps)."""
        start = 0
        for i, stage in enumerate(self.stages):
            end = self.boundary(i, total_steps)
            if step < end or i == len(self.stages) - 1:
                length = max(1, end - start)
                progress = min(1.0, max(0.0, (step - start) / max(1, length - 1)))
                w = _weight(progress, stage.anneal)
                return SchedulePoint(
                    i,
                    stage.name,
                    stage.temperature_start + w * (stage.temperature_end - stage.temperature_start),
                    stage.alpha_start + w * (stage.alpha_end - stage.alpha_start),
                    stage.lr_scale,
                )
            start = end
        raise AssertionError("unreachable: a validated schedule has stages")

    def boundary(self, index: int, total_steps: int) -> int:
        """First step after stage `index`."""
        return round(sum(s.fraction for s in self.stages[: index + 1]) * total_steps)

    @property
    def uses_teacher(self) -> bool:
        return any(s.uses_teacher for s in self.stages)

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for every invalid value; empty when valid."""
        out: list[tuple[str, str]] = []
        if not self.stages:
            return [("training.schedule.stages", "a schedule needs at least one stage")]
        for i, s in enumerate(self.stages):
            f = f"training.schedule.stages[{i}]"
            if not s.name:
                out.append((f"{f}.name", "must not be empty"))
            if not (math.isfinite(s.fraction) and 0.0 < s.fraction <= 1.0):
                out.append((f"{f}.fraction", f"must be in (0, 1], got {s.fraction}"))
            for name in ("temperature_start", "temperature_end"):
                v = getattr(s, name)
                if not (math.isfinite(v) and 0.0 < v <= 100.0):
                    out.append((f"{f}.{name}", f"must be in (0, 100], got {v}"))
            for name in ("alpha_start", "alpha_end"):
                v = getattr(s, name)
                if not (math.isfinite(v) and 0.0 <= v <= 1.0):
                    out.append((f"{f}.{name}", f"must be in [0, 1], got {v}"))
            if s.anneal not in ANNEALS:
                known = ", ".join(ANNEALS)
                out.append((f"{f}.anneal", f"must be one of {known}, got {s.anneal!r}"))
            if not (math.isfinite(s.lr_scale) and 0.0 < s.lr_scale <= 10.0):
                out.append((f"{f}.lr_scale", f"must be in (0, 10], got {s.lr_scale}"))
        total = sum(s.fraction for s in self.stages)
        if not out and abs(total - 1.0) > FRACTION_TOLERANCE:
            out.append(("training.schedule.stages", f"fractions must sum to 1, got {total:g}"))
        return out

    def describe(self, index: int, total_steps: int) -> str:
        """One line for the stage event."""
        s = self.stages[index]
        first = self.boundary(index - 1, total_steps) if index else 0
        last = self.boundary(index, total_steps)
        what = (
            f"temperature {s.temperature_start:g}->{s.temperature_end:g}, "
            f"alpha {s.alpha_start:g}->{s.alpha_end:g} ({s.anneal})"
            if s.uses_teacher
            else "hard labels only, teacher not used"
        )
        lr = f", learning rate x{s.lr_scale:g}" if s.lr_scale != 1.0 else ""
        return f"stage {s.name}: steps {first}..{last - 1} of {total_steps}, {what}{lr}"


# "auto" is not a schedule but a search over the two presets' shapes, temperature and alpha on
# the validation split (bridge.distill.search); the trainer only ever sees its winner.
AUTO = "auto"
PRESETS = ("progressive", "constant", AUTO)


def _weight(progress: float, anneal: str) -> float:
    if anneal == "cosine":
        return 0.5 * (1.0 - math.cos(math.pi * progress))
    return progress
