"""DistillSpec: the one description of a distillation job, and its validation.

Every door (Python API, gRPC server, CLI, Py4J) turns its input into a `DistillSpec`
(`bridge.wire` maps it to and from the proto); the pipeline knows nothing else. Validation
raises `SpecError`, whose `field` names the offending field in the proto's dotted spelling
(``training.epochs``), so every door reports it the same way.
"""

from __future__ import annotations

import enum
import math
import numbers
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from bridge.schedule import AUTO, PRESETS, Schedule


class SpecError(ValueError):
    """A spec field is invalid (``kind="invalid"``), names something that does not exist
    (``kind="not_found"``) or asks for more than the server allows (``kind="too_large"``).
    Doors map these to INVALID_ARGUMENT / NOT_FOUND / RESOURCE_EXHAUSTED."""

    def __init__(self, field_name: str, message: str, kind: str = "invalid") -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.kind = kind

    @property
    def code(self) -> str:
        """The gRPC status name doors answer with ("too_large": over a server's budget)."""
        return {"not_found": "NOT_FOUND", "too_large": "RESOURCE_EXHAUSTED"}.get(
            self.kind, "INVALID_ARGUMENT"
        )


class QuantType(enum.Enum):
    NONE = "none"
    INT8 = "int8"


# ---------------------------------------------------------------- student configs


@dataclass(frozen=True)
class MlpConfig:
    hidden_sizes: tuple[int, ...] = (64,)

    architecture = "mlp"

    def __post_init__(self) -> None:
        sizes = _int_tuple("student.mlp.hidden_sizes", self.hidden_sizes)
        object.__setattr__(self, "hidden_sizes", sizes)

    def validate(self) -> None:
        if not self.hidden_sizes:
            raise SpecError("student.mlp.hidden_sizes", "an MLP needs at least one hidden layer")
        for i, h in enumerate(self.hidden_sizes):
            if not 1 <= h <= 65536:
                raise SpecError(f"student.mlp.hidden_sizes[{i}]", f"must be in 1..65536, got {h}")


@dataclass(frozen=True)
class CnnConfig:
    channels: tuple[int, ...] = (16, 32)
    kernel_size: int = 3

    architecture = "cnn"

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", _int_tuple("student.cnn.channels", self.channels))

    def validate(self) -> None:
        _check_int("student.cnn.kernel_size", self.kernel_size, 1, 15)
        if not self.channels:
            raise SpecError("student.cnn.channels", "a CNN needs at least one conv block")
        for i, c in enumerate(self.channels):
            if not 1 <= c <= 4096:
                raise SpecError(f"student.cnn.channels[{i}]", f"must be in 1..4096, got {c}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0 or self.kernel_size > 15:
            raise SpecError(
                "student.cnn.kernel_size", f"must be an odd number in 1..15, got {self.kernel_size}"
            )


@dataclass(frozen=True)
class TransformerConfig:
    """A BERT encoder over the teacher's (or self-distillation's) WordPiece tokenizer.

    `prune_vocabulary` (default on) keeps only the tokens the teacher's tokenizer produces on
    the training split, plus the tokenizer's special tokens, and ships a tokenizer.json
    rewritten for them (bridge.data.vocabulary): the embedding table, most of a small
    student's weights, shrinks to the task's vocabulary (airline tweets: 9,114 of 30,522
    tokens). The trade-off: a word whose pieces never occur in the training split is pieced
    together from shorter kept pieces, or becomes [UNK] when it cannot be (the manifest and
    metrics report both shares on the validation split). False keeps the whole vocabulary."""

    layers: int = 2
    hidden_size: int = 384
    heads: int = 12
    intermediate_size: int = 1536
    max_seq_len: int = 128
    init_from_teacher: bool = True
    prune_vocabulary: bool = True

    architecture = "transformer"

    def validate(self) -> None:
        for name, high in TRANSFORMER_LIMITS.items():
            _check_int(f"student.transformer.{name}", getattr(self, name), 1, high)
        _check_bool("student.transformer.init_from_teacher", self.init_from_teacher)
        _check_bool("student.transformer.prune_vocabulary", self.prune_vocabulary)
        if self.hidden_size % self.heads:
            raise SpecError(
                "student.transformer.heads",
                f"hidden_size {self.hidden_size} is not divisible by heads {self.heads}",
            )


StudentConfig = MlpConfig | CnnConfig | TransformerConfig

# What a server lets one student weigh by default (~0.8 GB of fp32 weights, ~3 GB to train);
# `serve --max-student-parameters` sets it, and SubmitJob refuses more with RESOURCE_EXHAUSTED.
DEFAULT_MAX_STUDENT_PARAMETERS = 200_000_000

# Static bounds; `bridge.check` also bounds depth and length by the teacher's own.
TRANSFORMER_LIMITS = {
    "layers": 48,
    "hidden_size": 4096,
    "heads": 64,
    "intermediate_size": 16384,
    "max_seq_len": 4096,
}

# The data each student architecture can learn from.
# MLP and CNN students learn from text through the teacher's token embeddings
# (bridge.models.embedding_students): the heterogeneous Transformer -> MLP/CNN pairs.
STUDENT_MODALITIES = {
    "mlp": ("tabular", "image", "text"),
    "cnn": ("image", "text"),
    "transformer": ("text",),
}
TEXT_MAX_LENGTH = 64  # token positions an MLP or CNN text student reads


def check_student_modality(
    student: StudentConfig, dataset_name: str, modality: str, self_distilled: bool = False
) -> None:
    """INVALID_ARGUMENT naming `student.<arch>` when the student cannot learn from the data."""
    arch = student.architecture
    if modality not in STUDENT_MODALITIES[arch]:
        raise SpecError(
            f"student.{arch}",
            f"{arch} students need a {' or '.join(STUDENT_MODALITIES[arch])} dataset; "
            f"{dataset_name!r} is {modality}",
        )
    if self_distilled and modality == "text" and arch != "transformer":
        raise SpecError(
            "self_distillation",
            f"self-distillation on text needs a transformer student, not {arch}",
        )


def check_augmentation(training: TrainingParams, dataset_name: str, modality: str) -> None:
    """INVALID_ARGUMENT naming `training.augment_copies` when the data has no images to shift."""
    if training.augment_copies and modality != "image":
        raise SpecError(
            "training.augment_copies",
            f"shifted copies are made of images; {dataset_name!r} is {modality} (leave it 0)",
        )


def student_max_length(student: StudentConfig) -> int:
    """Token positions a text student reads."""
    return student.max_seq_len if isinstance(student, TransformerConfig) else TEXT_MAX_LENGTH


# ---------------------------------------------------------------- training, gates, data


MAX_WORKERS = 64
MAX_SEARCH_TRIALS = 200
MAX_AUGMENT_COPIES = 16
DEFAULT_SEARCH_TRIALS = 10  # schedule="auto": trainings when search_trials is unset
DEFAULT_SPLIT_FRACTION = 0.15  # of a dataset file, cut off for validation and for test
SEED_TEMPERATURE, SEED_ALPHA = 4.0, 0.5  # the seed's CustomLoss: the constant schedule's default


@dataclass(frozen=True)
class TrainingParams:
    """The default schedule is the progressive preset (warm-up, annealed distillation,
    fine-tuning; see bridge.schedule); pass a preset name or a `Schedule`.

    `temperature` and `alpha` (soft-loss weight: alpha*soft + (1-alpha)*hard) apply under
    either preset; None leaves the preset's own values. Progressive: the distillation stage's
    temperature anneals from `temperature` to 1 and its alpha is `alpha` throughout (0 = no
    distillation: the teacher is never used); unset, it anneals 4 -> 1 and 0.9 -> 0.5.
    Constant: one stage at `temperature` and `alpha`, unset the seed's `CustomLoss(alpha=0.5,
    T=4)`. A custom `Schedule` sets both per stage, so they must stay unset with one.
    `schedule="auto"` searches the preset shape, temperature and alpha on the validation split
    (Optuna, `search_trials` trainings, the presets first) and ships the best trial's student;
    a temperature or alpha set here is held fixed and the rest is searched.
    `augment_copies` k > 0 (image datasets, an external teacher) trains on k shifted copies of
    every training image besides the originals, labelled by the teacher's outputs, computed
    once with the rest (bridge.data.augment).
    `workers` > 1 trains with PyTorch DDP (global batch = batch_size, split across workers)."""

    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    temperature: float | None = None
    alpha: float | None = None
    seed: int = 0
    schedule: Schedule | str = "progressive"
    workers: int = 1
    # Feature-level distillation, used when teacher and student are both Transformers.
    hidden_weight: float = 1.0
    attention_weight: float = 1.0
    layer_map: tuple[int, ...] = ()  # teacher layer (1-based) per student layer; () = uniform
    # schedule="auto" only: how many trainings the search may run; None = DEFAULT_SEARCH_TRIALS.
    search_trials: int | None = None
    # Shifted copies of each training image, labelled by the teacher (0 = none).
    augment_copies: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "layer_map", _int_tuple("training.layer_map", self.layer_map))

    def validate(self) -> None:
        _check_int("training.epochs", self.epochs, 1, 10_000)
        _check_int("training.seed", self.seed, 0, 2**63 - 1)
        if not isinstance(self.schedule, str | Schedule):
            raise SpecError(
                "training.schedule", f"a preset name or a Schedule, got {self.schedule!r}"
            )
        _check_int("training.batch_size", self.batch_size, 1, 65_536)
        _check_int("training.workers", self.workers, 1, MAX_WORKERS)
        _check_int("training.augment_copies", self.augment_copies, 0, MAX_AUGMENT_COPIES)
        if self.batch_size < self.workers:
            raise SpecError(
                "training.batch_size",
                f"{self.batch_size} is smaller than workers {self.workers}: each worker "
                "needs at least one sample per step",
            )
        _check_float("training.learning_rate", self.learning_rate, 0.0, 10.0, low_open=True)
        if self.temperature is not None:
            _check_float("training.temperature", self.temperature, 0.0, 100.0, low_open=True)
        if self.alpha is not None:
            _check_float("training.alpha", self.alpha, 0.0, 1.0)
        if isinstance(self.schedule, Schedule):
            for name in ("temperature", "alpha"):
                if getattr(self, name) is not None:
                    raise SpecError(
                        f"training.{name}",
                        f"a custom schedule sets {name} per stage (training.schedule_stages); "
                        f"leave training.{name} unset or use a preset",
                    )
        _check_float("training.hidden_weight", self.hidden_weight, 0.0, 1000.0)
        _check_float("training.attention_weight", self.attention_weight, 0.0, 1000.0)
        if any(v < 1 for v in self.layer_map) or list(self.layer_map) != sorted(self.layer_map):
            raise SpecError(
                "training.layer_map",
                f"teacher layers must be >= 1 and ascending, got {list(self.layer_map)}",
            )
        if isinstance(self.schedule, str) and self.schedule not in PRESETS:
            raise SpecError(
                "training.schedule",
                f"unknown schedule {self.schedule!r}; known presets: {', '.join(PRESETS)} "
                "(or a custom list of stages)",
            )
        self._validate_search()
        if not self.searches:
            for name, message in self.resolved_schedule().problems():
                raise SpecError(name, message)

    @property
    def searches(self) -> bool:
        """schedule="auto": the schedule is chosen by a search on the validation split."""
        return self.schedule == AUTO

    def _validate_search(self) -> None:
        if not self.searches:
            if self.search_trials is not None:
                raise SpecError(
                    "training.search_trials",
                    f"applies only to schedule {AUTO!r}; the schedule is "
                    f"{self.schedule if isinstance(self.schedule, str) else 'custom'!r}",
                )
            return
        if self.search_trials is not None:
            _check_int("training.search_trials", self.search_trials, 1, MAX_SEARCH_TRIALS)
        if self.workers > 1:
            raise SpecError(
                "training.workers",
                f"schedule {AUTO!r} runs its trials in one process; set workers to 1 or "
                "choose a schedule (progressive, constant)",
            )

    def resolved_schedule(self) -> Schedule:
        """The schedule as stages, with this object's temperature and alpha where set."""
        if isinstance(self.schedule, Schedule):
            return self.schedule
        if self.searches:
            raise ValueError("schedule 'auto' has no stages until its search has chosen them")
        if self.schedule == "constant":
            return Schedule.constant(
                SEED_TEMPERATURE if self.temperature is None else self.temperature,
                SEED_ALPHA if self.alpha is None else self.alpha,
            )
        preset = Schedule.progressive()
        distill = next(s for s in preset.stages if s.name == "distill")
        temperature = (distill.temperature_start, distill.temperature_end)
        if self.temperature is not None:
            temperature = (self.temperature, min(self.temperature, 1.0))
        alpha = (distill.alpha_start, distill.alpha_end)
        if self.alpha is not None:
            alpha = (self.alpha, self.alpha)
        return Schedule.progressive(temperature=temperature, alpha=alpha)


SELF_TEACHER = "self"


@dataclass(frozen=True)
class SelfDistillation:
    """Teacher reference "self": no external teacher. Every hidden layer (MLP), conv block
    (CNN) or encoder layer (Transformer) gets an auxiliary exit that learns from the labels
    and from the deepest exit (Be-Your-Own-Teacher). `ship_exit` k > 0 ships the first k
    layers and exit k (a truncated model); 0 ships the full model. `tokenizer` (text only) is
    the zoo name or HF directory whose tokenizer and vocabulary the student uses."""

    ship_exit: int = 0
    feature_weight: float = 0.1  # hint loss: shallow features -> deepest features
    tokenizer: str = "minilm-l6"

    def validate(self, depth: int) -> None:
        _check_int("self_distillation.ship_exit", self.ship_exit, 0, max(0, depth - 1))
        _check_float("self_distillation.feature_weight", self.feature_weight, 0.0, 1000.0)
        _check_text("self_distillation.tokenizer", self.tokenizer, required=True)


@dataclass(frozen=True)
class TeacherPreparation:
    """How a teacher without a head for the task (a bare text encoder) is prepared: a new
    classification head, and the encoder too when `fine_tune_encoder`, trained on the training
    split. Cached by (teacher, dataset, these values)."""

    fine_tune_encoder: bool = True
    epochs: int = 2
    learning_rate: float = 5e-5

    def validate(self) -> None:
        _check_bool("teacher.preparation.fine_tune_encoder", self.fine_tune_encoder)
        _check_int("teacher.preparation.epochs", self.epochs, 1, 100)
        _check_float(
            "teacher.preparation.learning_rate", self.learning_rate, 0.0, 1.0, low_open=True
        )


@dataclass(frozen=True)
class Gates:
    max_parity_error: float = 1e-4
    max_int8_accuracy_drop: float = 0.01
    min_retention: float | None = None
    fp32_fallback: bool = False

    def validate(self) -> None:
        _check_bool("gates.fp32_fallback", self.fp32_fallback)
        _check_float("gates.max_parity_error", self.max_parity_error, 0.0, 1.0, low_open=True)
        _check_float("gates.max_int8_accuracy_drop", self.max_int8_accuracy_drop, 0.0, 1.0)
        if self.min_retention is not None:
            _check_float("gates.min_retention", self.min_retention, 0.0, 2.0)


@dataclass(frozen=True)
class Dataset:
    """A reference to a dataset: built-in by name, a file under the server's data root, a file
    stored on the server with UploadDataset (`upload_id`), or a local file to upload first
    (`Dataset.upload(path)`: a remote Distiller uploads it, a local run reads it)."""

    name: str | None = None
    path: str | None = None
    label_column: str = "label"
    text_column: str | None = None
    upload_id: str | None = None
    # Client side only, never on the wire: the local file `Dataset.upload` refers to.
    local_file: str | None = None
    # Files only: separate validation / test files (replacing the cut from the training file),
    # else the shares of the training file cut off for them.
    validation_path: str | None = None
    test_path: str | None = None
    validation_fraction: float = DEFAULT_SPLIT_FRACTION
    test_fraction: float = DEFAULT_SPLIT_FRACTION
    # Files only: a column saying per row "train", "validation" or "test" (not a feature).
    split_column: str | None = None

    @classmethod
    def builtin(cls, name: str) -> Dataset:
        """A built-in dataset by name (see `list_datasets`)."""
        return cls(name=name)

    @classmethod
    def from_path(
        cls,
        path: str,
        label_column: str = "label",
        text_column: str | None = None,
        *,
        validation_path: str | None = None,
        test_path: str | None = None,
        validation_fraction: float = DEFAULT_SPLIT_FRACTION,
        test_fraction: float = DEFAULT_SPLIT_FRACTION,
        split_column: str | None = None,
    ) -> Dataset:
        """A file (under the server's data root for a remote run). The bridge cuts validation
        and test rows from it (stratified, seeded: `validation_fraction`, `test_fraction`)
        unless `validation_path` / `test_path` name files of the same format that hold them,
        or `split_column` names a column (CSV / JSONL) that marks each row "train",
        "validation" (also "val", "valid", "dev") or "test"."""
        return cls(
            path=str(path),
            label_column=label_column,
            text_column=text_column,
            validation_path=str(validation_path) if validation_path else None,
            test_path=str(test_path) if test_path else None,
            validation_fraction=validation_fraction,
            test_fraction=test_fraction,
            split_column=split_column or None,
        )

    @classmethod
    def upload(
        cls,
        path: str | os.PathLike[str],
        label_column: str = "label",
        text_column: str | None = None,
        *,
        validation_fraction: float = DEFAULT_SPLIT_FRACTION,
        test_fraction: float = DEFAULT_SPLIT_FRACTION,
        split_column: str | None = None,
    ) -> Dataset:
        """A local CSV / JSONL / NPZ file that `Distiller.remote(...)` uploads before submitting;
        validation and test rows are cut from it, or marked by `split_column`, as for
        `from_path`."""
        return cls(
            local_file=str(path),
            label_column=label_column,
            text_column=text_column,
            validation_fraction=validation_fraction,
            test_fraction=test_fraction,
            split_column=split_column or None,
        )

    @classmethod
    def uploaded(
        cls,
        upload_id: str,
        label_column: str = "label",
        text_column: str | None = None,
        *,
        validation_fraction: float = DEFAULT_SPLIT_FRACTION,
        test_fraction: float = DEFAULT_SPLIT_FRACTION,
        split_column: str | None = None,
    ) -> Dataset:
        """A file already stored on the server (the id an upload returned)."""
        return cls(
            upload_id=upload_id,
            label_column=label_column,
            text_column=text_column,
            validation_fraction=validation_fraction,
            test_fraction=test_fraction,
            split_column=split_column or None,
        )

    def validate(self) -> None:
        for name in ("name", "path", "upload_id", "local_file", "text_column"):
            _check_text(f"dataset.{name}", getattr(self, name))
        for name in ("validation_path", "test_path", "split_column"):
            _check_text(f"dataset.{name}", getattr(self, name))
        _check_text("dataset.label_column", self.label_column, required=True)
        sources = [self.name, self.path, self.upload_id, self.local_file]
        if sum(bool(s) for s in sources) != 1:
            raise SpecError(
                "dataset", "set exactly one of dataset.builtin, dataset.path or dataset.upload_id"
            )
        if self.name is None and not self.label_column:
            raise SpecError("dataset.label_column", "must not be empty")
        if self.name is not None:
            for name in self._file_only_fields():
                raise SpecError(
                    f"dataset.{name}",
                    f"built-in dataset {self.name!r} has its own columns and splits; {name} "
                    "applies to dataset files (dataset.path / dataset.upload_id)",
                )
        for name in ("validation_fraction", "test_fraction"):
            _check_float(f"dataset.{name}", getattr(self, name), 0.0, 0.5, low_open=True)
        for name, file in (("validation", self.validation_path), ("test", self.test_path)):
            if file and getattr(self, f"{name}_fraction") != DEFAULT_SPLIT_FRACTION:
                raise SpecError(
                    f"dataset.{name}_fraction",
                    f"the {name} rows come from dataset.{name}_path; leave the fraction unset",
                )
        self._check_split_column()

    def _check_split_column(self) -> None:
        """A split column is one way to say where rows go; separate files are another, and a
        column cannot also be the label or the text."""
        if not self.split_column:
            return
        for name in ("validation_path", "test_path"):
            if getattr(self, name):
                raise SpecError(
                    "dataset.split_column",
                    f"the file's split column and dataset.{name} both say where rows go; "
                    "set one of them",
                )
        for name in ("label_column", "text_column"):
            if self.split_column == getattr(self, name):
                raise SpecError(
                    "dataset.split_column",
                    f"{self.split_column!r} is also dataset.{name}; the split column must be "
                    "a column of its own",
                )

    def _file_only_fields(self) -> list[str]:
        """The file-only fields set away from their defaults."""
        set_fields = {
            "label_column": self.label_column != "label",
            "text_column": bool(self.text_column),
            "validation_path": bool(self.validation_path),
            "test_path": bool(self.test_path),
            "validation_fraction": self.validation_fraction != DEFAULT_SPLIT_FRACTION,
            "test_fraction": self.test_fraction != DEFAULT_SPLIT_FRACTION,
            "split_column": bool(self.split_column),
        }
        return [name for name, is_set in set_fields.items() if is_set]

    @property
    def display_name(self) -> str:
        if self.upload_id:
            return f"upload:{self.upload_id}"
        return self.name or str(self.path or self.local_file)


@dataclass(frozen=True)
class DistillSpec:
    teacher: str
    student: StudentConfig
    dataset: Dataset
    training: TrainingParams = field(default_factory=TrainingParams)
    quantization: QuantType = QuantType.NONE
    gates: Gates = field(default_factory=Gates)
    name: str = ""
    teacher_preparation: TeacherPreparation = field(default_factory=TeacherPreparation)
    # A model stored with UploadModel; the server turns it into `teacher` (the stored path).
    teacher_upload_id: str = ""
    self_distillation: SelfDistillation = field(default_factory=SelfDistillation)
    # ONNX teacher files only: the output that scores the classes ("" = chosen by the bridge).
    teacher_output: str = ""
    # The MLflow registered model the artifact becomes a version of ("" = `name`, else derived).
    registered_model_name: str = ""

    @property
    def is_self_distillation(self) -> bool:
        return self.teacher == SELF_TEACHER and not self.teacher_upload_id

    def validate(self) -> None:
        """Checks everything that can be checked without touching disk or the zoo."""
        _check_text("teacher.reference", self.teacher)
        _check_text("teacher.upload_id", self.teacher_upload_id)
        _check_text("teacher.output", self.teacher_output)
        _check_text("name", self.name)
        check_registered_model_name("registered_model_name", self.registered_model_name)
        if not isinstance(self.quantization, QuantType):
            raise SpecError("quantization", f"a QuantType, got {self.quantization!r}")
        for name, part, kind in (
            ("dataset", self.dataset, Dataset),
            ("training", self.training, TrainingParams),
            ("gates", self.gates, Gates),
            ("teacher.preparation", self.teacher_preparation, TeacherPreparation),
            ("self_distillation", self.self_distillation, SelfDistillation),
        ):
            if not isinstance(part, kind):
                raise SpecError(name, f"must be a {kind.__name__}, got {part!r}")
        if self.teacher_upload_id:
            if self.teacher:
                raise SpecError(
                    "teacher", "set one of teacher.reference or teacher.upload_id, not both"
                )
        elif not self.teacher or not self.teacher.strip():
            raise SpecError("teacher.reference", "a teacher is required (zoo name or path)")
        if not isinstance(self.student, MlpConfig | CnnConfig | TransformerConfig):
            raise SpecError("student", "set one of student.mlp, student.cnn, student.transformer")
        self.student.validate()
        self.dataset.validate()
        self.teacher_preparation.validate()
        self.training.validate()
        self.gates.validate()
        if self.is_self_distillation:
            self.self_distillation.validate(student_depth(self.student))
            if self.training.augment_copies:
                raise SpecError(
                    "training.augment_copies",
                    "the copies are labelled by the teacher's outputs; a self-distilled "
                    "student has no teacher model (leave it 0)",
                )
            if self.teacher_output:
                raise SpecError(
                    "teacher.output",
                    "names an output of an ONNX teacher file; a self-distilled student has no "
                    "teacher model",
                )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view, for manifests and logs."""
        student = {"architecture": self.student.architecture, **asdict(self.student)}
        return {
            "name": self.name,
            "teacher": self.teacher,
            "teacher_output": self.teacher_output or None,
            "student": student,
            "dataset": asdict(self.dataset),
            "training": asdict(self.training),
            "quantization": self.quantization.value,
            "gates": asdict(self.gates),
            "teacher_preparation": asdict(self.teacher_preparation),
            "self_distillation": asdict(self.self_distillation)
            if self.is_self_distillation
            else None,
            "registered_model_name": self.registered_model_name or None,
        }


def student_depth(student: StudentConfig) -> int:
    """Layers that can carry an exit: hidden layers, conv blocks or encoder layers."""
    if isinstance(student, MlpConfig):
        return len(student.hidden_sizes)
    if isinstance(student, CnnConfig):
        return len(student.channels)
    return student.layers


def _int_tuple(name: str, value: object) -> tuple[int, ...]:
    """A list of integers, refused (naming the field) when it is a string or holds others."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise SpecError(name, f"must be a list of integers, got {value!r}")
    items = tuple(value)
    for i, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise SpecError(f"{name}[{i}]", f"must be an integer, got {item!r}")
    return tuple(int(item) for item in items)


# What MLflow's registry and URLs take without surprises ('/' and ':' are refused by MLflow).
REGISTERED_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\- ]{0,255}")


def check_registered_model_name(name: str, value: object) -> None:
    """An MLflow registered model name, or "" (= derived from the job)."""
    _check_text(name, value)
    if value and (value != str(value).strip() or not REGISTERED_MODEL_NAME.fullmatch(str(value))):
        raise SpecError(
            name,
            "letters, digits, '_', '-', '.' and spaces, starting with a letter or digit, at "
            f"most 256 characters; got {value!r}",
        )


def _check_text(name: str, value: object, required: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str):
        raise SpecError(name, f"must be a string, got {value!r}")
    if "\x00" in value:
        raise SpecError(name, "contains a NUL byte")
    if required and not value:
        raise SpecError(name, "must not be empty")


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise SpecError(name, f"must be true or false, got {value!r}")


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(name, f"must be an integer, got {value!r}")
    if not low <= value <= high:
        bounds = f"exactly {low}" if low == high else f"in {low}..{high}"
        raise SpecError(name, f"must be {bounds}, got {value}")


def _check_float(name: str, value: float, low: float, high: float, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(name, f"must be a finite number, got {value!r}")
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        bracket = "(" if low_open else "["
        raise SpecError(name, f"must be in {bracket}{low}, {high}], got {value}")
