"""The door contract's middle step: parse input -> `DistillSpec` -> `check(spec, ...)` -> run.

Every door calls `check` before anything runs: the gRPC server at SubmitJob (and for
`validate_only`), the Py4J debug gateway, the Python API (local and remote) and the CLI. So a
spec that names a missing teacher, an unreadable file or a student that cannot learn from the
data fails at once, with the same `SpecError` naming the field, whichever door it came through.
Nothing here trains or loads a model; a dataset file is read whole only when it is small.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bridge.data import BUILTIN_DATASETS, check_dataset, data_files, load_dataset
from bridge.models import resolve_teacher
from bridge.models.teachers import resolve_tokenizer_directory
from bridge.spec import DistillSpec, SpecError, check_student_modality

# Dataset files up to this size are loaded at check time, so bad content (NaN, no rows, a
# missing label column, too few rows per class) is refused before a job is queued. Larger files
# are only checked for existence here; the job's load stage reads them.
PRECHECK_MAX_BYTES = 16 * 1024 * 1024

Resolver = Callable[[DistillSpec], DistillSpec]


def check(
    spec: DistillSpec, data_root: Path | None, resolve_uploads: Resolver | None = None
) -> DistillSpec:
    """Validates `spec` and everything it refers to; returns it unchanged (the normalized form
    is the spec itself: every default is explicit in a `DistillSpec`).

    `data_root` None is a local run (any path); a server passes its root, and
    `resolve_uploads` (upload ids -> stored paths). Without one, upload ids are refused: they
    exist only on a server."""
    spec.validate()
    resolved = resolve_uploads(spec) if resolve_uploads else _no_uploads(spec)
    dataset = resolved.dataset
    check_dataset(dataset, data_root)
    modality = _modality(resolved, data_root)
    if resolved.is_self_distillation:
        if modality == "text":
            resolve_tokenizer_directory(
                resolved.self_distillation.tokenizer, data_root, "self_distillation.tokenizer"
            )
    else:
        resolve_teacher(resolved.teacher, dataset, data_root, modality)
    if modality is not None:
        check_student_modality(
            spec.student, dataset.display_name, modality, spec.is_self_distillation
        )
    return spec


def _no_uploads(spec: DistillSpec) -> DistillSpec:
    for name, value in (
        ("teacher.upload_id", spec.teacher_upload_id),
        ("dataset.upload_id", spec.dataset.upload_id),
    ):
        if value:
            raise SpecError(name, "uploads exist only on a server; a local run reads a local path")
    return spec


def _modality(spec: DistillSpec, data_root: Path | None) -> str | None:
    """The dataset's modality: from the catalogue for a built-in, by loading a small file;
    None for a large file (the job finds out when it loads it)."""
    ref = spec.dataset
    if ref.name is not None:
        return BUILTIN_DATASETS[ref.name].modality
    files = data_files(ref, data_root)
    if sum(path.stat().st_size for path, _ in files.each()) > PRECHECK_MAX_BYTES:
        return None
    return load_dataset(ref, data_root).modality


__all__ = ["PRECHECK_MAX_BYTES", "check"]
