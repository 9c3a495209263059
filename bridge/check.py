"""The door contract's middle step: parse input -> `DistillSpec` -> `check(spec, ...)` -> run.

Every door calls `check` before anything runs: the gRPC server at SubmitJob (and for
`validate_only`), the Py4J debug gateway, the Python API (local and remote) and the CLI. So a
spec that names a missing teacher, an unreadable file or a student that cannot learn from the
data fails at once, with the same `SpecError` naming the field, whichever door it came through.
Nothing here trains or loads a model; a dataset file is read whole only when it is small.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bridge.data import BUILTIN_DATASETS, check_dataset, data_files, load_dataset
from bridge.models import resolve_teacher
from bridge.models.size import student_parameters
from bridge.models.teachers import resolve_tokenizer_directory
from bridge.models.text import hf_config
from bridge.spec import (
    DistillSpec,
    SpecError,
    TransformerConfig,
    check_augmentation,
    check_student_modality,
)

# Dataset files up to this size are loaded at check time, so bad content (NaN, no rows, a
# missing label column, too few rows per class) is refused before a job is queued. Larger files
# are only checked for existence here; the job's load stage reads them.
PRECHECK_MAX_BYTES = 16 * 1024 * 1024

Resolver = Callable[[DistillSpec], DistillSpec]


def check(
    spec: DistillSpec,
    data_root: Path | None,
    resolve_uploads: Resolver | None = None,
    max_student_parameters: int | None = None,
) -> DistillSpec:
    """Validates `spec` and everything it refers to; returns it unchanged (the normalized form
    is the spec itself: every default is explicit in a `DistillSpec`).

    `data_root` None is a local run (any path); a server passes its root, `resolve_uploads`
    (upload ids -> stored paths) and its budget: a student over `max_student_parameters` is
    refused (RESOURCE_EXHAUSTED). Without `resolve_uploads`, upload ids are refused: they exist
    only on a server."""
    spec.validate()
    resolved = resolve_uploads(spec) if resolve_uploads else _no_uploads(spec)
    dataset = resolved.dataset
    check_dataset(dataset, data_root)
    shape = _shape(resolved, data_root)
    text_directory = None
    if resolved.is_self_distillation:
        if shape is not None and shape.modality == "text":
            text_directory = resolve_tokenizer_directory(
                resolved.self_distillation.tokenizer, data_root, "self_distillation.tokenizer"
            )
    else:
        modality = shape.modality if shape is not None else None
        source = resolve_teacher(
            resolved.teacher, dataset, data_root, modality, resolved.teacher_output
        )
        if source.is_text:
            text_directory = source.text_directory
            if isinstance(spec.student, TransformerConfig):
                _within_teacher(spec.student, hf_config(text_directory))
    if shape is not None:
        check_student_modality(
            spec.student, dataset.display_name, shape.modality, spec.is_self_distillation
        )
        check_augmentation(spec.training, dataset.display_name, shape.modality)
        if max_student_parameters is not None:
            _within_budget(spec, shape, text_directory, max_student_parameters)
    return spec


@dataclass(frozen=True)
class _Shape:
    modality: str
    input_shape: tuple[int, ...]
    classes: int


def _shape(spec: DistillSpec, data_root: Path | None) -> _Shape | None:
    """The data's modality, input shape and classes: from the catalogue for a built-in, by
    loading a small file; None for a large file (the job finds out when it loads it)."""
    ref = spec.dataset
    if ref.name is not None:
        entry = BUILTIN_DATASETS[ref.name]
        return _Shape(entry.modality, tuple(entry.input_shape), len(entry.labels))
    files = data_files(ref, data_root)
    if sum(path.stat().st_size for path, _ in files.each()) > PRECHECK_MAX_BYTES:
        return None
    loaded = load_dataset(ref, data_root)
    return _Shape(loaded.modality, loaded.input_shape, max(loaded.num_classes, 2))


def _within_budget(
    spec: DistillSpec, shape: _Shape, text_directory: Path | None, limit: int
) -> None:
    try:
        count = student_parameters(spec.student, shape.input_shape, shape.classes, text_directory)
    except (OSError, ValueError, KeyError, RuntimeError) as e:  # the job would fail the same way
        raise SpecError(f"student.{spec.student.architecture}", f"cannot be built: {e}") from e
    if count > limit:
        arch = spec.student.architecture
        raise SpecError(
            f"student.{arch}",
            f"this student would have {count:,} parameters; the server allows {limit:,} "
            "(serve --max-student-parameters)",
            kind="too_large",
        )


def _within_teacher(student: TransformerConfig, teacher: dict) -> None:
    """A Transformer student no deeper than its teacher and no longer than its position table
    (it shares the teacher's tokenizer and, when widths match, its embeddings)."""
    for name, limit_key, what in (
        ("layers", "num_hidden_layers", "layers"),
        ("max_seq_len", "max_position_embeddings", "positions"),
    ):
        limit = teacher.get(limit_key)
        value = getattr(student, name)
        if isinstance(limit, int) and value > limit:
            raise SpecError(
                f"student.transformer.{name}",
                f"{value} is more than the teacher's {limit} {what}",
            )


def _no_uploads(spec: DistillSpec) -> DistillSpec:
    for name, value in (
        ("teacher.upload_id", spec.teacher_upload_id),
        ("dataset.upload_id", spec.dataset.upload_id),
    ):
        if value:
            raise SpecError(name, "uploads exist only on a server; a local run reads a local path")
    return spec


__all__ = ["PRECHECK_MAX_BYTES", "check"]
