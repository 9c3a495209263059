"""Getting the student ready for a job, the counterpart of `bridge.teacher_prep`:

- before the teacher is prepared, the untrained student and example inputs, for pre-flight;
- after it, the student that trains: for text pairs with the feature loss that ties it to the
  teacher's layers and what the teacher must output for it; for self-distillation a multi-exit
  student and its loss;
- after training, the self-distilled exit that ships.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from bridge.data import LoadedDataset
from bridge.data.features import Features, float_features
from bridge.data.tokenize import TOKENIZER_FILE, TextEncoder
from bridge.distill import accuracy, predict_logits
from bridge.distill.feature_losses import (
    FeatureAlignment,
    FeatureLoss,
    LayerMap,
    SentenceAlignment,
)
from bridge.distill.self_distill import SelfDistillLoss
from bridge.events import EventSink, LogEvent
from bridge.models import build_student, count_parameters
from bridge.models.embedding_students import EMBEDDING_DIM, build_text_student
from bridge.models.exits import MultiExit, TextMultiExit, multi_exit_student
from bridge.models.teachers import OutputRequest, TeacherSource
from bridge.models.text import build_transformer_student, hf_config
from bridge.spec import DistillSpec, StudentConfig, TransformerConfig
from bridge.teacher_prep import PreparedTeacher, head_size


def preflight_student(
    spec: DistillSpec,
    dataset: LoadedDataset,
    source: TeacherSource | None,
    origin: Path | None,
    max_length: int,
) -> tuple[nn.Module, Features]:
    """The untrained student and example inputs, before the teacher is prepared: a text
    student is built on the teacher's original directory (same tokenizer and shapes as the
    prepared one, whose weights it is later initialised from); `origin` overrides it (the
    tokenizer directory of a self-distillation). Self-distilled MLP/CNN students are built with
    their exits, so the module checked here is the one trained."""
    if dataset.modality != "text":
        build = multi_exit_student if spec.is_self_distillation else build_student
        assert not isinstance(spec.student, TransformerConfig)
        return build(spec.student, dataset), float_features(dataset.train)
    if origin is None:
        assert source is not None
        origin = source.text_directory
    classes = dataset.num_classes if dataset.labeled else head_size(origin)
    student = _text_student(spec.student, origin, classes, init=False)
    example = TextEncoder(origin / TOKENIZER_FILE, max_length).encode(dataset.train.x[:64])
    return student, example


def _text_student(
    config: StudentConfig, directory: Path, classes: int, init: bool = True
) -> nn.Module:
    """A Transformer student (initialised from the teacher's layers when widths match) or an
    MLP/CNN over the teacher's token embeddings."""
    if isinstance(config, TransformerConfig):
        return build_transformer_student(config, directory, classes, init=init)[0]
    return build_text_student(config, directory, classes, init=init)


def example_classes(student: nn.Module, example: Features) -> int:
    """How many logits the student gives (what its exported graph must reproduce)."""
    with torch.inference_mode():
        student.eval()
        out = student(*map(torch.from_numpy, example.batch(slice(0, 2))))
    student.train()
    return int(out.shape[1])


def training_student(
    spec: DistillSpec,
    dataset: LoadedDataset,
    prepared: PreparedTeacher,
    preflighted: nn.Module,
    on_event: EventSink,
) -> tuple[nn.Module, FeatureAlignment | None, OutputRequest]:
    """The student, and for text pairs the feature loss and what the teacher must give.
    Self-distillation gets a multi-exit student (an exit after every layer)."""
    if dataset.modality != "text":
        return preflighted, None, OutputRequest()
    if not isinstance(spec.student, TransformerConfig):
        return _embedding_student(spec, dataset, prepared, on_event)
    assert prepared.directory is not None
    student, copied = build_transformer_student(
        spec.student, prepared.directory, dataset.num_classes
    )
    on_event(
        LogEvent(
            f"student initialised from teacher layers {copied}"
            if copied
            else "student randomly initialised (widths differ from the teacher's)"
        )
    )
    if spec.is_self_distillation:
        return TextMultiExit(student), None, OutputRequest()
    t = spec.training
    if not (t.hidden_weight or t.attention_weight):
        return student, None, OutputRequest()
    teacher_cfg = hf_config(prepared.directory)
    layer_map = LayerMap.build(spec.student.layers, teacher_cfg["num_hidden_layers"], t.layer_map)
    average_heads = spec.student.heads != teacher_cfg["num_attention_heads"]
    loss = FeatureLoss(
        layer_map,
        spec.student.hidden_size,
        teacher_cfg["hidden_size"],
        average_heads,
        t.hidden_weight,
        t.attention_weight,
    )
    request = OutputRequest(
        hidden=tuple(tt for _, tt in layer_map.hidden_pairs) if t.hidden_weight else (),
        attention=tuple(tt for _, tt in layer_map.attention_pairs) if t.attention_weight else (),
        average_heads=average_heads,
    )
    on_event(
        LogEvent(
            f"feature distillation: student layers 1..{spec.student.layers} <- "
            f"teacher layers {list(layer_map.teacher)}, hidden x{t.hidden_weight}, "
            f"attention x{t.attention_weight}"
        )
    )
    return student, loss, request


def _embedding_student(
    spec: DistillSpec, dataset: LoadedDataset, prepared: PreparedTeacher, on_event: EventSink
) -> tuple[nn.Module, FeatureAlignment | None, OutputRequest]:
    """An MLP/CNN student of a Transformer teacher: logits, plus (unless hidden_weight is 0)
    its sentence feature projected onto the teacher's sentence embedding."""
    assert prepared.directory is not None
    student = build_text_student(spec.student, prepared.directory, dataset.num_classes)
    on_event(
        LogEvent(
            f"{spec.student.architecture} text student on the teacher's token embeddings "
            f"(PCA to {EMBEDDING_DIM} dimensions)"
        )
    )
    weight = spec.training.hidden_weight
    if not weight:
        return student, None, OutputRequest()
    teacher_width = int(hf_config(prepared.directory)["hidden_size"])
    on_event(
        LogEvent(
            f"feature distillation: student sentence feature ({student.feature_width}) -> "
            f"projection -> teacher sentence embedding ({teacher_width}), x{weight}"
        )
    )
    alignment = SentenceAlignment(student.feature_width, teacher_width, weight)
    return student, alignment, OutputRequest(pooled=True)


def self_distill_loss(
    spec: DistillSpec, student: nn.Module, on_event: EventSink
) -> SelfDistillLoss | None:
    if not spec.is_self_distillation:
        return None
    assert isinstance(student, MultiExit | TextMultiExit)
    sd = spec.self_distillation
    shipped = f"exit {sd.ship_exit} (truncated)" if sd.ship_exit else "the full model"
    on_event(
        LogEvent(
            f"self-distillation: {student.depth} exits, the deepest teaches the others; "
            f"shipping {shipped}"
        )
    )
    return SelfDistillLoss(student.feature_widths, sd.feature_weight)


def ship_exit(
    spec: DistillSpec,
    student: nn.Module,
    test: Features,
    y: np.ndarray,
    metrics: dict[str, float],
    on_event: EventSink,
) -> tuple[nn.Module, nn.Module]:
    """Scores every exit on the test split and returns the module to ship: the first k layers
    and exit k, or the full model. The full model stands in for the teacher in the metrics."""
    assert isinstance(student, MultiExit | TextMultiExit)
    depth = student.depth
    for k in range(1, depth + 1):
        metrics[f"exit_{k}_accuracy"] = accuracy(predict_logits(student.truncated(k), test), y)
    metrics["teacher_accuracy"] = metrics[f"exit_{depth}_accuracy"]
    k = spec.self_distillation.ship_exit or depth
    on_event(
        LogEvent(
            "exit test accuracies: "
            + ", ".join(f"{i}: {metrics[f'exit_{i}_accuracy']:.4f}" for i in range(1, depth + 1))
        )
    )
    full = student.truncated(depth).eval()
    metrics["full_student_parameters"] = count_parameters(full)
    return student.truncated(k).eval(), full
