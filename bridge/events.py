"""Progress events the pipeline emits. Doors turn them into what their callers see
(gRPC `JobEvent`s, Python callbacks, CLI lines); the pipeline only calls `on_event(event)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StageEvent:
    stage: str
    message: str = ""


@dataclass(frozen=True)
class ProgressEvent:
    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float
    soft_loss: float
    hard_loss: float
    learning_rate: float
    temperature: float
    alpha: float
    hidden_loss: float = 0.0
    attention_loss: float = 0.0


@dataclass(frozen=True)
class ValidationEvent:
    epoch: int
    accuracy: float
    loss: float
    best: bool


@dataclass(frozen=True)
class PhaseProgressEvent:
    """How far a long phase has come (bridge/progress.py `PhaseProgress` emits these)."""

    phase: str  # "teacher_prep", "teacher_cache", "train", "export", "quantize", "jvm_check"
    done: int
    total: int  # 0: not known
    unit: str  # "steps", "rows", "models"
    elapsed_seconds: float
    eta_seconds: float = -1.0  # -1: no estimate yet
    message: str = ""  # first event: what the phase is; first estimate: how long it will take
    figures: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LogEvent:
    message: str
    level: str = "INFO"


@dataclass(frozen=True)
class MlflowRun:
    """Where the job is recorded in MLflow (bridge/tracking.py): sent when the run exists, and
    again with `model_version` once the artifact is registered. Not from the pipeline."""

    run_id: str
    run_url: str = ""  # the run's page in the MLflow UI ("" for file: or sqlite: stores)
    experiment_id: str = ""
    registered_model_name: str = ""
    model_version: str = ""


Event = StageEvent | ProgressEvent | ValidationEvent | LogEvent | PhaseProgressEvent | MlflowRun
EventSink = Callable[[Event], None]


def ignore_events(_event: Event) -> None:
    """The default sink."""
