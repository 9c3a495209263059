"""Getting a teacher ready for a job, cached across jobs:

- zoo teachers (tabular, image) are trained by the bridge on their dataset on first use;
- text encoders without a head for the task (the packaged MiniLM, a bare HF directory) get a
  classification head fine-tuned on the job's training split (and the encoder too, unless
  told otherwise), keyed by (teacher, dataset, preparation params);
- teacher files (TorchScript, ONNX, an HF classifier with the right head) are used as they are;
- self-distillation has a stand-in, `self_teacher`, with nothing to load.

`teacher_outputs_for` then gives the prepared teacher's outputs, from the teacher-output cache.

Nothing here is loaded eagerly: `PreparedTeacher.load()` is only called when the teacher-output
cache misses, so a repeated job never loads the teacher at all.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import torch

from bridge.cache_budget import CacheBudget
from bridge.data import LoadedDataset
from bridge.data.features import Features, float_features
from bridge.data.tokenize import TOKENIZER_FILE, TextEncoder
from bridge.distill import TrainData, accuracy, predict_logits, train
from bridge.distill.teacher_cache import (
    TEACHER_CACHE_DIR,
    CacheResult,
    TeacherShape,
    cache_key,
    plan_features,
    teacher_batch_size,
    teacher_outputs,
)
from bridge.errors import DistillError
from bridge.events import (
    Event,
    EventSink,
    LogEvent,
    PhaseProgressEvent,
    ValidationEvent,
    ignore_events,
)
from bridge.export.onnx_export import export_onnx
from bridge.models import ZooTeacher, count_parameters
from bridge.models.builders import with_normalization
from bridge.models.teachers import (
    HfTeacher,
    OnnxTeacher,
    OutputRequest,
    Teacher,
    TeacherSource,
    TorchScriptTeacher,
    onnx_class_output,
    onnx_parameter_count,
    resolve_tokenizer_directory,
)
from bridge.models.text import has_task_head, hf_config, hf_dir_sha256, load_hf_classifier
from bridge.paths import locked, sha256_file
from bridge.spec import DistillSpec, SpecError, TeacherPreparation, TrainingParams

# Sequence length used to fine-tune a text teacher: independent of any student's max_seq_len,
# so one prepared teacher serves every student.
PREP_MAX_LENGTH = 128
PREP_BATCH_SIZE = 32


@dataclass
class PreparedTeacher:
    source: TeacherSource
    identity: str  # what teacher outputs are cached under
    load: Callable[[], Teacher]
    info: dict  # reference, architecture, file, sha256, parameters (+ preparation)
    file_bytes: int
    onnx_path: Path | None = None
    directory: Path | None = None  # text: the HF directory (tokenizer, student init)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def tokenizer_file(self) -> Path:
        assert self.directory is not None
        return self.directory / TOKENIZER_FILE


def prepare_teacher(
    source: TeacherSource,
    dataset: LoadedDataset,
    prep: TeacherPreparation,
    home: Path,
    on_event: EventSink,
) -> PreparedTeacher:
    if source.kind == "zoo":
        assert isinstance(source.zoo, ZooTeacher)
        return _zoo(source, ensure_zoo_teacher(source.zoo, dataset, home, on_event))
    if source.is_text:
        return _text(source, dataset, prep, home, on_event)
    assert source.path is not None
    sha = sha256_file(source.path)
    size = source.path.stat().st_size
    if source.kind == "onnx":
        info = _info(source, "onnx", source.path.name, sha, onnx_parameter_count(source.path))
        info.update(onnx_class_output(source.path, source.output).describe())
        # Another output gives other teacher outputs: cached apart from the automatic choice.
        identity = f"{sha}#output={source.output}" if source.output else sha
        return PreparedTeacher(
            source,
            identity,
            lambda: OnnxTeacher(source.reference, source.path, source.output),
            info,
            size,
            onnx_path=source.path,
        )
    probe = TorchScriptTeacher(source.reference, source.path)
    info = probe.describe()
    probe.release()
    return PreparedTeacher(
        source, sha, lambda: TorchScriptTeacher(source.reference, source.path), info, size
    )


def _info(source: TeacherSource, arch: str, file: str, sha: str, params: int | None) -> dict:
    return {
        "reference": source.reference,
        "architecture": arch,
        "file": file,
        "sha256": sha,
        "parameters": params,
    }


# ---------------------------------------------------------------- zoo teachers


def _zoo(source: TeacherSource, directory: Path) -> PreparedTeacher:
    zoo = source.zoo
    assert isinstance(zoo, ZooTeacher)
    saved = json.loads((directory / "info.json").read_text())
    # the file under teachers/<name>, as a prepared text teacher's directory is
    file = f"{directory.name}/teacher.pt"
    info = _info(source, zoo.architecture, file, saved["sha256"], saved["parameters"])

    def load() -> Teacher:
        return TorchScriptTeacher(source.reference, directory / "teacher.pt", zoo.architecture)

    return PreparedTeacher(
        source,
        saved["sha256"],
        load,
        info,
        (directory / "teacher.pt").stat().st_size,
        onnx_path=directory / "teacher.onnx",
    )


def ensure_zoo_teacher(
    zoo: ZooTeacher, dataset: LoadedDataset, home: Path, on_event: EventSink = ignore_events
) -> Path:
    """Trains the zoo teacher on the dataset's training split on first use and caches it
    (TorchScript + ONNX + info.json) in a directory of its own per dataset. A file lock keeps
    concurrent jobs from training twice; a cached teacher is retrained when its recipe
    (`ZooTeacher.recipe`) changed."""
    directory = zoo.variant_dir(home, dataset.fingerprint)
    directory.mkdir(parents=True, exist_ok=True)
    with locked(directory):
        if zoo.cached_info(home, dataset.fingerprint):
            return directory
        on_event(
            LogEvent(
                f"training zoo teacher {zoo.name} on {dataset.name} "
                f"({zoo.epochs} epochs, cached for later jobs)"
            )
        )
        torch.manual_seed(0)
        model = with_normalization(zoo.build(dataset), *dataset.normalization())
        params = TrainingParams(
            epochs=zoo.epochs,
            batch_size=zoo.batch_size,
            learning_rate=zoo.learning_rate,
            alpha=0.0,
            seed=0,
            schedule="constant",  # plain supervised training, no stages
        )
        splits = {n: float_features(getattr(dataset, n)) for n in ("train", "val", "test")}
        outcome = train(
            model,
            TrainData(splits["train"], dataset.train.y),
            TrainData(splits["val"], dataset.val.y),
            params,
            _as_teacher_log(zoo.name, on_event),
            weight_decay=zoo.weight_decay,
            phase="teacher_prep",
        )
        test_acc = accuracy(predict_logits(model, splits["test"]), dataset.test.y)
        with warnings.catch_warnings():  # TorchScript is deprecated but is what users bring
            warnings.simplefilter("ignore", FutureWarning)
            _atomic(directory / "teacher.pt", lambda p: torch.jit.script(model).save(str(p)))
        _atomic(directory / "teacher.onnx", lambda p: export_onnx(model, splits["test"], p))
        _write_info(
            directory,
            {
                "name": zoo.name,
                "dataset": dataset.name,
                "dataset_fingerprint": dataset.fingerprint,
                "recipe": zoo.recipe,
                "test_accuracy": test_acc,
                "val_accuracy": outcome.best_val_accuracy,
                "parameters": count_parameters(model),
                "sha256": sha256_file(directory / "teacher.pt"),
                "train_seconds": outcome.seconds,
            },
        )
        on_event(LogEvent(f"zoo teacher {zoo.name}: test accuracy {test_acc:.4f}"))
        return directory


# ---------------------------------------------------------------- text teachers


def _text(
    source: TeacherSource,
    dataset: LoadedDataset,
    prep: TeacherPreparation,
    home: Path,
    on_event: EventSink,
) -> PreparedTeacher:
    origin = source.text_directory
    num_labels = dataset.num_classes if dataset.labeled else head_size(origin)
    start = time.perf_counter()
    if dataset.labeled and not has_task_head(origin, num_labels):
        directory, hit = _fine_tuned(source, origin, dataset, prep, home, on_event)
    elif not dataset.labeled and not has_task_head(origin, num_labels):
        raise SpecError(
            "dataset",
            "an unlabeled dataset needs a teacher that already has a "
            "classification head (a Hugging Face "
            "...ForSequenceClassification directory)",
        )
    else:
        directory, hit = _as_is(origin, home, num_labels, on_event)
    saved = json.loads((directory / "info.json").read_text())
    sha = saved["sha256"]
    info = {
        **_info(source, "transformer", directory.name, sha, saved["parameters"]),
        "preparation": saved.get("preparation"),
    }
    metrics = {
        "teacher_prep_cache_hit": float(hit),
        "teacher_prep_seconds": time.perf_counter() - start,
    }
    if saved.get("test_accuracy") is not None:
        metrics["teacher_prep_test_accuracy"] = saved["test_accuracy"]
    return PreparedTeacher(
        source,
        sha,
        # a partial, not a lambda: a recomputing DDP worker unpickles it and loads its own
        partial(HfTeacher, source.reference, directory, num_labels, sha),
        info,
        (directory / "teacher.onnx").stat().st_size,
        onnx_path=directory / "teacher.onnx",
        directory=directory,
        metrics=metrics,
    )


def head_size(origin: Path) -> int:
    """Classes of an existing head (unlabeled data: the teacher defines the classes)."""
    config = hf_config(origin)
    return int(config.get("num_labels") or len(config.get("id2label") or {}) or 0)


def teacher_labels(prepared: PreparedTeacher) -> list[str]:
    """Class names from a text teacher's config (used when the dataset has no labels)."""
    assert prepared.directory is not None
    config = hf_config(prepared.directory)
    id2label = config.get("id2label") or {}
    return [str(id2label.get(str(i), i)) for i in range(head_size(prepared.directory))]


def _fine_tuned(
    source: TeacherSource,
    origin: Path,
    dataset: LoadedDataset,
    prep: TeacherPreparation,
    home: Path,
    on_event: EventSink,
) -> tuple[Path, bool]:
    origin_sha = hf_dir_sha256(origin)
    key = cache_key(
        teacher=origin_sha,
        dataset=dataset.fingerprint,
        max_length=PREP_MAX_LENGTH,
        fine_tune_encoder=prep.fine_tune_encoder,
        epochs=prep.epochs,
        learning_rate=prep.learning_rate,
    )
    name = source.zoo.name if source.zoo is not None else f"hf-{origin_sha[:12]}"
    directory = home / "teachers" / name / key[:16]
    with locked(directory):
        if (directory / "info.json").is_file():
            on_event(
                LogEvent(
                    f"teacher {source.reference}: prepared for {dataset.name} "
                    "earlier, reusing it (no preparation)"
                )
            )
            return directory, True
        what = "head and encoder" if prep.fine_tune_encoder else "head only"
        on_event(
            LogEvent(
                f"preparing teacher {source.reference} for {dataset.name}: "
                f"fine-tuning {what}, {prep.epochs} epochs (cached for later jobs)"
            )
        )
        encoder = TextEncoder(origin / TOKENIZER_FILE, PREP_MAX_LENGTH)
        splits = {n: encoder.encode_split(getattr(dataset, n)) for n in ("train", "val", "test")}
        model = load_hf_classifier(origin, dataset.num_classes)
        if not prep.fine_tune_encoder:
            for p in model.hf.base_model.parameters():
                p.requires_grad_(False)
        params = TrainingParams(
            epochs=prep.epochs,
            batch_size=PREP_BATCH_SIZE,
            learning_rate=prep.learning_rate,
            alpha=0.0,
            seed=0,
            schedule="constant",  # plain supervised training, no stages
        )
        outcome = train(
            model,
            TrainData(splits["train"], dataset.train.y),
            TrainData(splits["val"], dataset.val.y),
            params,
            _as_teacher_log(source.reference, on_event),
            weight_decay=0.01,
            phase="teacher_prep",
        )
        test_acc = accuracy(predict_logits(model, splits["test"]), dataset.test.y)
        on_event(
            LogEvent(
                f"teacher {source.reference}: test accuracy {test_acc:.4f} after "
                f"preparation ({outcome.seconds:.0f} s)"
            )
        )
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        model.hf.save_pretrained(tmp)
        shutil.copy2(origin / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
        export_onnx(model, splits["test"], tmp / "teacher.onnx")
        _write_info(
            tmp,
            {
                "source": str(origin),
                "source_sha256": origin_sha,
                "dataset": dataset.name,
                "dataset_fingerprint": dataset.fingerprint,
                "test_accuracy": test_acc,
                "val_accuracy": outcome.best_val_accuracy,
                "train_seconds": outcome.seconds,
                "parameters": count_parameters(model),
                "sha256": hf_dir_sha256(tmp),
                "preparation": {
                    "fine_tune_encoder": prep.fine_tune_encoder,
                    "epochs": prep.epochs,
                    "learning_rate": prep.learning_rate,
                },
            },
        )
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)
        return directory, False


def _as_is(origin: Path, home: Path, num_labels: int, on_event: EventSink) -> tuple[Path, bool]:
    """An HF classifier that already fits the task: used unchanged; only its ONNX form (for
    size and latency comparisons) and info are cached beside it."""
    if (origin / "info.json").is_file() and (origin / "teacher.onnx").is_file():
        return origin, True  # a directory the bridge prepared earlier: already complete
    sha = hf_dir_sha256(origin)
    directory = home / "teachers" / f"hf-{sha[:12]}" / "as-is"
    with locked(directory):
        if (directory / "info.json").is_file():
            return directory, True
        on_event(LogEvent(f"teacher {origin.name} already has a {num_labels}-class head"))
        tmp = directory.with_name("as-is.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(origin, tmp)
        model = load_hf_classifier(tmp, num_labels)
        example = TextEncoder(tmp / TOKENIZER_FILE, PREP_MAX_LENGTH).encode(
            ["a short example", "and a slightly longer example sentence"]
        )
        export_onnx(model, example, tmp / "teacher.onnx")
        _write_info(
            tmp,
            {
                "source": str(origin),
                "sha256": sha,
                "test_accuracy": None,
                "parameters": count_parameters(model),
                "preparation": None,
            },
        )
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)
        return directory, False


# ---------------------------------------------------------------- self-distillation


def self_teacher(
    spec: DistillSpec, dataset: LoadedDataset, data_root: Path | None
) -> PreparedTeacher:
    """Stands in for the teacher when the student teaches itself: no model to load; for text,
    the directory whose tokenizer (and vocabulary) the student uses."""
    directory = None
    if dataset.modality == "text":
        directory = resolve_tokenizer_directory(
            spec.self_distillation.tokenizer, data_root, "self_distillation.tokenizer"
        )

    def no_teacher() -> Teacher:
        raise DistillError("self-distillation has no teacher to load")

    info = {"reference": "self", "architecture": "self-distillation (deepest exit)"}
    return PreparedTeacher(TeacherSource("self"), "self", no_teacher, info, 0, directory=directory)


# ---------------------------------------------------------------- teacher outputs


def teacher_outputs_for(
    prepared: PreparedTeacher,
    home: Path,
    dataset: LoadedDataset,
    splits: dict[str, Features],
    request: OutputRequest,
    encoder: TextEncoder | None,
    student_batch: int,
    on_event: EventSink = ignore_events,
    budget: CacheBudget | None = None,
) -> CacheResult:
    """The teacher's outputs for every split, from the teacher-output cache under `home` (the
    teacher is loaded only on a miss, with "teacher_cache" progress), keyed by teacher, data,
    tokenizer, request and storage layout. Feature targets follow `budget` (`plan_features`)."""
    shape = None
    if request.hidden or request.attention or request.pooled:
        assert prepared.directory is not None  # only Transformer teachers give features
        config = hf_config(prepared.directory)
        shape = TeacherShape(config["hidden_size"], config["num_attention_heads"])
    plan = plan_features(splits, request, shape, dataset.num_classes, budget or CacheBudget())
    key = cache_key(
        teacher=prepared.identity,
        dataset=dataset.fingerprint,
        tokenizer=encoder.manifest_block() if encoder else None,
        request=asdict(plan.cached_request(request)),
        layout=plan.layout,
    )
    batch = teacher_batch_size(student_batch, encoder is not None)
    return teacher_outputs(
        home / TEACHER_CACHE_DIR,
        key,
        splits,
        request,
        prepared.load,
        batch,
        on_event=on_event,
        plan=plan,
    )


# ---------------------------------------------------------------- helpers


def teacher_features(
    prepared: PreparedTeacher, dataset: LoadedDataset, max_length: int
) -> tuple[dict[str, Features], TextEncoder | None]:
    """Model inputs for every split: raw floats, or token ids from the teacher's tokenizer."""
    names = ("train", "val", "test")
    if dataset.modality != "text":
        return {n: float_features(getattr(dataset, n)) for n in names}, None
    encoder = TextEncoder(prepared.tokenizer_file, max_length)
    return {n: encoder.encode_split(getattr(dataset, n)) for n in names}, encoder


def _as_teacher_log(name: str, on_event: EventSink) -> EventSink:
    """Teacher training reports as log lines and "teacher_prep" progress, so watchers do not
    mistake it for the student's."""

    def sink(event: Event) -> None:
        if isinstance(event, PhaseProgressEvent):
            on_event(event)
        elif isinstance(event, ValidationEvent):
            on_event(
                LogEvent(f"teacher {name} epoch {event.epoch}: val accuracy {event.accuracy:.4f}")
            )

    return sink


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    tmp.replace(path)


def _write_info(directory: Path, info: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _atomic(directory / "info.json", lambda p: p.write_text(json.dumps(info, indent=2)))
