"""How large a student will be, before anything is built for real: the very architecture the
job would train, built on PyTorch's meta device (no memory, milliseconds), so a server can refuse
an oversize student at submit instead of running out of memory in a worker."""

from __future__ import annotations

from pathlib import Path

import torch

from bridge.models.builders import cnn, count_parameters, mlp
from bridge.models.embedding_students import build_text_student
from bridge.models.text import build_transformer_student
from bridge.spec import CnnConfig, MlpConfig, StudentConfig, TransformerConfig


def student_parameters(
    student: StudentConfig,
    input_shape: tuple[int, ...],
    classes: int,
    text_directory: Path | None = None,
) -> int:
    """Parameters of `student` for data of `input_shape` with `classes` classes; text students
    (`text_directory`: the teacher's or tokenizer's model directory) include their embeddings."""
    with torch.device("meta"):
        if text_directory is not None:
            if isinstance(student, TransformerConfig):
                model = build_transformer_student(student, text_directory, classes, init=False)[0]
            else:
                model = build_text_student(student, text_directory, classes, init=False)
        elif isinstance(student, MlpConfig):
            model = mlp(input_shape, student.hidden_sizes, classes)
        else:
            assert isinstance(student, CnnConfig)
            model = cnn(input_shape, student.channels, student.kernel_size, classes)
    return count_parameters(model)


__all__ = ["student_parameters"]
