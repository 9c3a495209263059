"""Getting the student ready for a job, the counterpart of `bridge.teacher_prep`:

- for text, the tokenizer the student reads and ships: the teacher's, or for a Transformer
  student with `prune_vocabulary` a copy pruned to the training split's tokens, and the
  student's inputs for every split in it;
- before the teacher is prepared, the untrained student and example inputs, for pre-flight;
- after it, the student that trains: for text pairs with the feature loss that ties it to the
  teacher's layers and what the teacher must output for it; for self-distillation a multi-exit
  student and its loss;
- after training, the self-distilled exit that ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bridge.data import LoadedDataset
from bridge.data.features import Features, float_features
from bridge.data.tokenize import TOKENIZER_FILE, TextEncoder
from bridge.data.vocabulary import (
    PrunedVocabulary,
    check_aligned,
    training_vocabulary,
    validation_coverage,
    write_pruned_tokenizer,
)
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


@dataclass(frozen=True)
class StudentTokenizer:
    """What a text student reads: `encoder` over the tokenizer.json the artifact ships (the
    teacher's, or its pruned copy) and the `vocabulary` kept (None: the teacher's whole one)."""

    encoder: TextEncoder
    vocabulary: PrunedVocabulary | None = None

    @property
    def pruned(self) -> bool:
        return self.vocabulary is not None


def text_origin(source: TeacherSource | None, self_directory: Path | None) -> Path:
    """The model directory whose tokenizer (and, for a Transformer student, embeddings) a text
    student starts from: the teacher's original directory (its prepared copy has the same
    tokenizer), or the tokenizer directory of a self-distillation."""
    if self_directory is not None:
        return self_directory
    assert source is not None
    return source.text_directory


def student_tokenizer(
    spec: DistillSpec,
    dataset: LoadedDataset,
    origin: Path,
    work: Path,
    max_length: int,
    metrics: dict[str, float],
    on_event: EventSink,
) -> StudentTokenizer:
    """The student's tokenizer. With `prune_vocabulary` (Transformer students) the pruned
    tokenizer.json is written to `work` (it ships in the artifact), and the metrics record its
    size and what it costs on the validation split."""
    teacher_file = origin / TOKENIZER_FILE
    config = spec.student
    if not (isinstance(config, TransformerConfig) and config.prune_vocabulary):
        encoder = TextEncoder(teacher_file, max_length)
        size = encoder.tokenizer.get_vocab_size(True)
        encoder.vocabulary = {"pruned": False, "size": size, "teacher_size": size}
        metrics.update(student_vocabulary=size, teacher_vocabulary=size)
        return StudentTokenizer(encoder)
    vocabulary = training_vocabulary(teacher_file, dataset.train.x)
    pruned_file = write_pruned_tokenizer(teacher_file, vocabulary, work / TOKENIZER_FILE)
    coverage = validation_coverage(teacher_file, pruned_file, vocabulary, dataset.val.x)
    metrics.update(
        student_vocabulary=vocabulary.size,
        teacher_vocabulary=vocabulary.teacher_size,
        vocabulary_oov_val_pct=coverage.new_unknown_pct,
        vocabulary_unseen_val_pct=coverage.unseen_pct,
    )
    on_event(
        LogEvent(
            f"vocabulary pruned to the training split's {vocabulary.size:,} of "
            f"{vocabulary.teacher_size:,} tokens; validation split: "
            f"{coverage.unseen_pct:.2f}% of tokens outside it, "
            f"{coverage.new_unknown_pct:.2f}% become [UNK]"
        )
    )
    described = {**vocabulary.describe(), **coverage.describe()}
    return StudentTokenizer(TextEncoder(pruned_file, max_length, described), vocabulary)


def student_features(
    tokenizer: StudentTokenizer, dataset: LoadedDataset, teacher_splits: dict[str, Features]
) -> dict[str, Features]:
    """The student's inputs for every split. Without pruning they are the teacher's; with it
    every split is tokenized with the pruned tokenizer (what ships and what Java runs), and the
    training split must be the teacher's token for token (renumbered), since the cached
    teacher hidden states and attention maps are position by position."""
    if not tokenizer.pruned:
        return teacher_splits
    assert tokenizer.vocabulary is not None
    splits = {n: tokenizer.encoder.encode_split(getattr(dataset, n)) for n in teacher_splits}
    check_aligned(teacher_splits["train"], splits["train"], tokenizer.vocabulary)
    return splits


def preflight_student(
    spec: DistillSpec,
    dataset: LoadedDataset,
    origin: Path | None,
    tokenizer: StudentTokenizer | None,
    max_length: int,
) -> tuple[nn.Module, Features]:
    """The untrained student and example inputs, before the teacher is prepared: a text
    student is built on `origin` (same tokenizer and shapes as the prepared teacher, whose
    weights it is later initialised from) with the student's vocabulary, so the graph checked
    is the one shipped. Self-distilled MLP/CNN students are built with their exits, so the
    module checked here is the one trained."""
    if dataset.modality != "text":
        build = multi_exit_student if spec.is_self_distillation else build_student
        assert not isinstance(spec.student, TransformerConfig)
        return build(spec.student, dataset), float_features(dataset.train)
    assert origin is not None and tokenizer is not None
    classes = dataset.num_classes if dataset.labeled else head_size(origin)
    student = _text_student(spec.student, origin, classes, tokenizer.vocabulary, init=False)
    example = tokenizer.encoder.encode(dataset.train.x[:64])
    return student, example


def _text_student(
    config: StudentConfig,
    directory: Path,
    classes: int,
    vocabulary: PrunedVocabulary | None,
    init: bool = True,
) -> nn.Module:
    """A Transformer student (initialised from the teacher's layers when widths match) or an
    MLP/CNN over the teacher's token embeddings."""
    if isinstance(config, TransformerConfig):
        return build_transformer_student(config, directory, classes, init, vocabulary)[0]
    assert vocabulary is None  # prune_vocabulary is a TransformerConfig field
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
    tokenizer: StudentTokenizer | None,
    on_event: EventSink,
) -> tuple[nn.Module, FeatureAlignment | None, OutputRequest]:
    """The student, and for text pairs the feature loss and what the teacher must give.
    Self-distillation gets a multi-exit student (an exit after every layer)."""
    if dataset.modality != "text":
        return preflighted, None, OutputRequest()
    if not isinstance(spec.student, TransformerConfig):
        return _embedding_student(spec, dataset, prepared, on_event)
    assert prepared.directory is not None and tokenizer is not None
    student, copied = build_transformer_student(
        spec.student, prepared.directory, dataset.num_classes, vocabulary=tokenizer.vocabulary
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
