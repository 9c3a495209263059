"""Progress events the pipeline emits. Doors turn them into what their callers see
(gRPC `JobEvent`s, Python callbacks, CLI lines); the pipeline only calls `on_event(event)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb


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
class LogEvent:
    message: str
    level: str = "INFO"


Event = StageEvent | ProgressEvent | ValidationEvent | LogEvent
EventSink = Callable[[Event], None]


def ignore_events(_event: Event) -> None:
    """The default sink."""


def event_to_proto(event: Event) -> pb.JobEvent:
    msg = pb.JobEvent()
    if isinstance(event, StageEvent):
        msg.stage.CopyFrom(pb.StageEvent(stage=event.stage, message=event.message))
    elif isinstance(event, ProgressEvent):
        msg.progress.CopyFrom(pb.ProgressEvent(**vars(event)))
    elif isinstance(event, ValidationEvent):
        msg.validation.CopyFrom(pb.ValidationEvent(**vars(event)))
    elif isinstance(event, LogEvent):
        msg.log.CopyFrom(pb.LogEvent(level=event.level, message=event.message))
    else:  # pragma: no cover - Event is a closed union
        raise TypeError(f"unknown event {event!r}")
    return msg


def event_from_proto(msg: pb.JobEvent) -> Event | None:
    """The pipeline event a `JobEvent` carries; None for the final (finished) event."""
    kind = msg.WhichOneof("event")
    if kind == "stage":
        return StageEvent(msg.stage.stage, msg.stage.message)
    if kind == "progress":
        p = msg.progress
        return ProgressEvent(
            p.epoch,
            p.epochs,
            p.step,
            p.steps_per_epoch,
            p.loss,
            p.soft_loss,
            p.hard_loss,
            p.learning_rate,
            p.temperature,
            p.alpha,
        )
    if kind == "validation":
        v = msg.validation
        return ValidationEvent(v.epoch, v.accuracy, v.loss, v.best)
    if kind == "log":
        return LogEvent(msg.log.message, msg.log.level or "INFO")
    return None
