"""The pairs the benchmarks measure, each one way for the bridge (a `DistillSpec`) and one way
by hand (teacher and student modules plus model inputs, for the seed's loop and torchdistill),
so both sides train the same models on the same rows.

- `fashion`: the 12k Fashion-MNIST subset, zoo `fashion-mnist-cnn` teacher (3-block CNN) ->
  `CnnConfig((16, 32))`. The teacher is cheap next to the student's step.
- `text`: 3,000 airline tweets, MiniLM-L6 (its classification head prepared by the bridge, encoder
  frozen, cached) -> a 2-layer MiniLM-width Transformer initialised from the teacher's layers, 64
  tokens. The teacher's forward costs about as much as the student's whole step, as in the
  seed's Transformer use case.
- `airline` (budgets.py): the same models on all the built-in airline tweets, MiniLM-L6 fully
  fine-tuned by the bridge (the default `TeacherPreparation`, as text_students.py's), so its
  runs share text_students.py's prepared teacher. `BENCH_AIRLINE_ROWS=<n>` (smoke tests only)
  takes a stratified n-row sample and a head-only, one-epoch preparation instead.

Logit-level KD with the seed's constants (constant schedule, T=4, alpha=0.5) on both sides.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import _common as c
import numpy as np
import torch
from torch import nn

from bridge.data import LoadedDataset, Split, load_dataset
from bridge.data.features import Features, float_features
from bridge.data.text import AIRLINE_LABELS
from bridge.data.tokenize import TextEncoder
from bridge.events import ignore_events
from bridge.models import build_student, resolve_teacher
from bridge.models.text import build_transformer_student, load_hf_classifier
from bridge.spec import (
    Dataset,
    DistillSpec,
    MlpConfig,
    QuantType,
    StudentConfig,
    TeacherPreparation,
    TrainingParams,
    TransformerConfig,
)
from bridge.teacher_prep import PreparedTeacher, prepare_teacher


@dataclass(frozen=True)
class SeedInputs:
    """What the seed's loop trains on: modules and the training split's inputs."""

    teacher: nn.Module | None  # None: the student trains alone, no teacher resident
    student: nn.Module
    x: Features
    y: np.ndarray


@dataclass(frozen=True)
class HandBuilt:
    """What a user builds by hand around the bridge-prepared teacher: the teacher module, a fresh
    student, and how a split becomes model inputs."""

    teacher: nn.Module | None  # None: not loaded (the student trains alone)
    student: nn.Module
    encode: Callable[[Split], Features]


@dataclass(frozen=True)
class Task:
    name: str
    teacher: str
    student: StudentConfig
    batch: int
    lr: float
    preparation: TeacherPreparation = TeacherPreparation()

    def dataset(self) -> Dataset:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def spec(self, epochs: int, batch: int | None = None) -> DistillSpec:
        """The bridge's job: logit-level KD with the seed's constants, fp32 artifact."""
        return DistillSpec(
            teacher=self.teacher,
            student=self.student,
            dataset=self.dataset(),
            training=TrainingParams(
                epochs=epochs,
                batch_size=batch or self.batch,
                learning_rate=self.lr,
                temperature=4.0,
                alpha=0.5,
                schedule="constant",
                hidden_weight=0.0,
                attention_weight=0.0,
            ),
            quantization=QuantType.NONE,
            teacher_preparation=self.preparation,
        )

    def prepare(self, home: Path, data: LoadedDataset | None = None) -> PreparedTeacher:
        """The teacher, trained or prepared by the bridge and cached under `home`."""
        data = data or self.load()
        source = resolve_teacher(self.teacher, self.dataset(), None, data.modality)
        return prepare_teacher(source, data, self.preparation, home, ignore_events)

    def load(self) -> LoadedDataset:
        return load_dataset(self.dataset(), None)

    def hand_built(
        self, home: Path, data: LoadedDataset, seed: int = 0, with_teacher: bool = True
    ) -> HandBuilt:
        """The teacher as prepared (cached) under `home`, and a student initialised under
        `seed`."""
        raise NotImplementedError

    def seed_inputs(self, home: Path, with_teacher: bool = True) -> SeedInputs:
        data = self.load()
        built = self.hand_built(home, data, with_teacher=with_teacher)
        return SeedInputs(built.teacher, built.student, built.encode(data.train), data.train.y)


class FashionTask(Task):
    def dataset(self) -> Dataset:
        return c.dataset_ref()

    def describe(self) -> str:
        return c.TASK

    def hand_built(
        self, home: Path, data: LoadedDataset, seed: int = 0, with_teacher: bool = True
    ) -> HandBuilt:
        # the cached zoo teacher's TorchScript
        teacher = self.prepare(home, data).load().module if with_teacher else None
        torch.manual_seed(seed)
        return HandBuilt(teacher, build_student(self.student, data), float_features)


class DigitsTask(FashionTask):
    """scikit-learn's 8x8 digits (built in), zoo `digits-mlp` teacher -> a small MLP."""

    def dataset(self) -> Dataset:
        return Dataset.builtin("digits")

    def describe(self) -> str:
        return f"digits (built in), teacher {self.teacher}, student mlp {self.student.hidden_sizes}"


@dataclass(frozen=True)
class TextTask(Task):
    rows: int = 3000

    def dataset(self) -> Dataset:
        return Dataset.from_path(str(self._tweets()), text_column="text")

    def describe(self) -> str:
        return (
            f"airline tweets {self.rows:,} rows, teacher minilm-l6 (head prepared, encoder "
            "frozen), student transformer 2x384 (12 heads) from the teacher's layers, 64 tokens"
        )

    def _tweets(self) -> Path:
        """A stratified sample of the airline tweets as JSONL, written once."""
        out = c.workdir() / f"tweets-{self.rows}.jsonl"
        if out.is_file():
            return out
        full = load_dataset(Dataset.builtin("airline-sentiment"), None).train
        rng = np.random.default_rng(0)
        per_class = self.rows // len(AIRLINE_LABELS)
        picks = np.sort(
            np.concatenate(
                [
                    rng.choice(np.flatnonzero(full.y == k), per_class, replace=False)
                    for k in range(len(AIRLINE_LABELS))
                ]
            )
        )
        rows = ({"text": full.x[i], "label": AIRLINE_LABELS[full.y[i]]} for i in picks)
        out.write_text("\n".join(json.dumps(r) for r in rows))
        return out

    def hand_built(
        self, home: Path, data: LoadedDataset, seed: int = 0, with_teacher: bool = True
    ) -> HandBuilt:
        """The prepared teacher directory's classifier and tokenizer; the student with the
        teacher's whole vocabulary, initialised from its layers."""
        prepared = self.prepare(home, data)
        assert prepared.directory is not None and isinstance(self.student, TransformerConfig)
        teacher = load_hf_classifier(prepared.directory, data.num_classes) if with_teacher else None
        torch.manual_seed(seed)
        student, _ = build_transformer_student(self.student, prepared.directory, data.num_classes)
        encoder = TextEncoder(prepared.tokenizer_file, self.student.max_seq_len)
        return HandBuilt(teacher, student, encoder.encode_split)


@dataclass(frozen=True)
class AirlineTask(TextTask):
    """All the built-in airline tweets (`rows` 0); `rows` > 0: a stratified sample (smoke
    tests)."""

    rows: int = 0

    def dataset(self) -> Dataset:
        return super().dataset() if self.rows else Dataset.builtin("airline-sentiment")

    def describe(self) -> str:
        data = f"a {self.rows:,}-row sample (smoke test)" if self.rows else "all (built in)"
        p = self.preparation
        return (
            f"airline tweets, {data}; teacher minilm-l6 prepared by the bridge ("
            f"{'encoder fine-tuned' if p.fine_tune_encoder else 'head only'}, {p.epochs} "
            f"epoch(s), lr {p.learning_rate:g}); student transformer 2x384 (12 heads) from the "
            "teacher's layers, 64 tokens (the bridge prunes its vocabulary, as by default; the "
            f"hand-built peers keep the teacher's); batch {self.batch}, lr {self.lr:g}"
        )


TEXT_STUDENT = TransformerConfig(
    layers=2, hidden_size=384, heads=12, intermediate_size=1536, max_seq_len=64
)
# Smoke tests of budgets.py's airline part only: a sample and a cheap preparation.
AIRLINE_SMOKE_ROWS = int(os.environ.get("BENCH_AIRLINE_ROWS", "0"))
HEAD_ONLY = TeacherPreparation(fine_tune_encoder=False, epochs=1, learning_rate=2e-3)


TASKS: dict[str, Task] = {
    "fashion": FashionTask("fashion", c.TEACHER, c.STUDENT, batch=c.BATCH, lr=2e-3),
    "digits": DigitsTask("digits", "digits-mlp", MlpConfig((16,)), batch=64, lr=5e-3),
    "text": TextTask("text", "minilm-l6", TEXT_STUDENT, batch=32, lr=1e-4, preparation=HEAD_ONLY),
    "airline": AirlineTask(
        "airline",
        "minilm-l6",
        TEXT_STUDENT,
        batch=32,
        lr=1e-4,
        preparation=HEAD_ONLY if AIRLINE_SMOKE_ROWS else TeacherPreparation(),
        rows=AIRLINE_SMOKE_ROWS,
    ),
}
