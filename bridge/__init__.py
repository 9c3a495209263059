"""Distill Bridge: knowledge distillation in PyTorch, verified ONNX out, for Java and Python.

The public face; everything else is private to the package.
"""

from bridge.api import DistillationResult, Distiller, Teacher
from bridge.cache_budget import CacheBudget
from bridge.errors import DistillError, GateError, JobCancelled
from bridge.events import (
    Event,
    LogEvent,
    MlflowRun,
    PhaseProgressEvent,
    ProgressEvent,
    StageEvent,
    ValidationEvent,
)
from bridge.schedule import Schedule, Stage
from bridge.spec import (
    CnnConfig,
    Dataset,
    DistillSpec,
    Gates,
    MlpConfig,
    QuantType,
    SelfDistillation,
    SpecError,
    StudentConfig,
    TeacherPreparation,
    TrainingParams,
    TransformerConfig,
)

__all__ = [
    "CacheBudget",
    "CnnConfig",
    "Dataset",
    "DistillError",
    "DistillSpec",
    "DistillationResult",
    "Distiller",
    "Event",
    "GateError",
    "Gates",
    "JobCancelled",
    "LogEvent",
    "MlflowRun",
    "MlpConfig",
    "PhaseProgressEvent",
    "ProgressEvent",
    "QuantType",
    "Schedule",
    "SelfDistillation",
    "SpecError",
    "Stage",
    "StageEvent",
    "StudentConfig",
    "Teacher",
    "TeacherPreparation",
    "TrainingParams",
    "TransformerConfig",
    "ValidationEvent",
]
__version__ = "0.1.0"
