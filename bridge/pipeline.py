"""The distillation flow, top to bottom: data -> teacher (prepared, cached) -> student ->
pre-flight export -> teacher outputs (computed once, memory-mapped, teacher released) ->
training -> ONNX export -> INT8 -> verification and gates -> artifact directory.

Knows nothing about gRPC, the CLI or Java: doors hand it a `DistillSpec` and an event sink.
"""

from __future__ import annotations

import math
import platform
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from bridge.data import LoadedDataset, load_dataset
from bridge.data.features import Features, float_features
from bridge.data.tokenize import TOKENIZER_FILE, TextEncoder
from bridge.distill import TrainData, accuracy, predict_logits, train
from bridge.distill.distributed import train_distributed
from bridge.distill.evaluation import retention_interval, teacher_metrics
from bridge.distill.feature_losses import (
    FeatureAlignment,
    FeatureLoss,
    LayerMap,
    SentenceAlignment,
)
from bridge.distill.memory import peak_rss_mb, phase_peak, reset_peak
from bridge.distill.self_distill import SelfDistillLoss
from bridge.distill.teacher_cache import CacheResult, cache_key, teacher_outputs
from bridge.errors import DistillError, GateError
from bridge.events import EventSink, LogEvent, StageEvent, ignore_events
from bridge.export import manifest as mf
from bridge.export.onnx_export import OPSET, OUTPUT_NAME, embed_metadata, export_onnx
from bridge.export.preflight import preflight, preflight_batches
from bridge.export.quantize import QUANTIZED_OPS, TEXT_QUANTIZED_OPS, quantize_int8, recipe
from bridge.export.verify import (
    assert_cpu_runs,
    golden_vectors,
    latency_ms,
    max_abs_diff,
    ort_logits,
)
from bridge.jvm import FAILED, PASSED, verify_in_jvm
from bridge.models import build_student, count_parameters, resolve_teacher
from bridge.models.embedding_students import EMBEDDING_DIM, build_text_student
from bridge.models.exits import MultiExit, TextMultiExit, multi_exit_student
from bridge.models.teachers import OutputRequest, Teacher, TeacherSource
from bridge.models.text import build_transformer_student, hf_config
from bridge.models.zoo import ZOO, PretrainedTeacher
from bridge.paths import resolve_under_root
from bridge.report import TrainingHistory, write_report
from bridge.schedule import Schedule
from bridge.spec import (
    DistillSpec,
    Gates,
    QuantType,
    SpecError,
    StudentConfig,
    TrainingParams,
    TransformerConfig,
    check_student_modality,
    student_max_length,
)
from bridge.teacher_prep import (
    PreparedTeacher,
    head_size,
    prepare_teacher,
    teacher_features,
    teacher_labels,
    text_origin,
)

TEXT_TEACHER_BATCH = 64
TEACHER_BATCH = 256


@dataclass(frozen=True)
class RunContext:
    """Where a run may read and cache things. `data_root` None = a local run (any path)."""

    home: Path
    data_root: Path | None = None
    job_id: str = ""
    should_stop: Callable[[], bool] = field(default=lambda: False)


@dataclass(frozen=True)
class RunResult:
    artifact_dir: Path
    manifest: dict
    metrics: dict[str, float]


def run(
    spec: DistillSpec, out_dir: Path, ctx: RunContext, on_event: EventSink = ignore_events
) -> RunResult:
    """Runs one job and leaves a verified artifact in `out_dir` (created; must not exist)."""
    spec.validate()
    if out_dir.exists():
        raise DistillError(f"artifact directory {out_dir} already exists")
    work = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        result = _run_in(work, spec, ctx, on_event)
        work.rename(out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return RunResult(out_dir, result.manifest, result.metrics)


def _run_in(work: Path, spec: DistillSpec, ctx: RunContext, on_event: EventSink) -> RunResult:
    on_event = history = TrainingHistory(on_event)  # records the curves for report/
    stage = _stage_reporter(on_event)
    metrics: dict[str, float] = {}

    stage("load", f"loading dataset {spec.dataset.display_name}")
    with phase_peak(metrics, "load"):
        dataset = load_dataset(spec.dataset, ctx.data_root)
        check_student_modality(
            spec.student, dataset.name, dataset.modality, spec.is_self_distillation
        )
        if spec.is_self_distillation:
            source, self_teacher = None, _self_teacher(spec, dataset, ctx)
        else:
            source = resolve_teacher(spec.teacher, spec.dataset, ctx.data_root, dataset.modality)
            self_teacher = None
    max_length = student_max_length(spec.student)

    # Before any training (the teacher's own preparation included): a student that cannot
    # export or run in ONNX Runtime fails here, in seconds.
    stage("preflight", "exporting the untrained student to ONNX Runtime before training")
    torch.manual_seed(spec.training.seed)
    origin = self_teacher.directory if self_teacher else None
    with phase_peak(metrics, "preflight"):
        student, example = _preflight_student(spec, dataset, source, origin, max_length)
        checked = preflight(
            student,
            preflight_batches(example),
            example_classes(student, example),
            work,
            spec.gates.max_parity_error,
        )
    verification: dict = {"preflight": checked.to_dict(), "gates": []}

    with phase_peak(metrics, "prepare"):
        if self_teacher is not None:
            prepared = self_teacher
        else:
            assert source is not None
            prepared = prepare_teacher(
                source, dataset, spec.teacher_preparation, ctx.home, on_event
            )
        metrics.update(prepared.metrics)
        if not dataset.labeled:  # pure soft-label distillation: the teacher defines the classes
            dataset = replace(dataset, labels=teacher_labels(prepared))
        splits, encoder = teacher_features(prepared, dataset, max_length)
    torch.manual_seed(spec.training.seed)
    student, feature_loss, request = _student(spec, dataset, prepared, student, on_event)
    self_loss = _self_distill_loss(spec, student, on_event)

    cached = None
    ys = {n: getattr(dataset, n).y for n in ("train", "val", "test")}
    if self_loss is None:
        stage("teacher", f"teacher outputs for {prepared.source.reference} (computed once, cached)")
        with phase_peak(metrics, "teacher"):
            cached = _teacher_outputs(ctx, prepared, dataset, splits, request, encoder, spec)
        _report_cache(cached, metrics, on_event)
        teacher_test = np.asarray(cached.outputs["test"].logits)
        _check_classes(teacher_test, dataset)
        ys = _labels(dataset, cached)
        metrics.update(teacher_metrics(teacher_test, ys["train"], ys["test"]))

    stage(
        "train",
        f"training {spec.student.architecture} student ({count_parameters(student):,} parameters)"
        + (f" on {spec.training.workers} workers" if spec.training.workers > 1 else ""),
    )
    training = spec.training if dataset.labeled else _soft_targets_only(spec.training)
    train_data = TrainData(
        splits["train"], ys["train"], cached.outputs["train"] if cached else None
    )
    val_data = TrainData(splits["val"], ys["val"])
    with phase_peak(metrics, "train"):
        if spec.training.workers > 1:
            outcome = train_distributed(
                work.with_name(work.name + ".ddp"),
                spec.training.workers,
                student,
                train_data,
                val_data,
                training,
                on_event,
                teacher_cache=cached.directory if cached else None,
                feature_loss=feature_loss,
                self_distill=self_loss,
                should_stop=ctx.should_stop,
            )
        else:
            outcome = train(
                student,
                train_data,
                val_data,
                training,
                on_event,
                feature_loss=feature_loss,
                self_distill=self_loss,
                should_stop=ctx.should_stop,
            )
    metrics.update(
        train_seconds=outcome.seconds,
        best_epoch=outcome.best_epoch,
        student_val_accuracy=outcome.best_val_accuracy,
    )
    if self_loss is not None:
        student, full = _ship_exit(spec, student, splits["test"], ys["test"], metrics, on_event)
        full_onnx = work.with_name(work.name + ".full.onnx")  # outside the artifact
        prepared.onnx_path = export_onnx(full, splits["test"], full_onnx)
        prepared.file_bytes = full_onnx.stat().st_size

    stage("export", f"exporting to ONNX (opset {OPSET})")
    test = splits["test"]
    reset_peak()  # the export phase's peak runs to the end of quantization
    fp32 = export_onnx(student, test, work / mf.FP32_MODEL)
    facts = _metadata_facts(spec, dataset, ctx.job_id)
    embed_metadata(fp32, facts)
    if encoder is not None:
        shutil.copy2(prepared.tokenizer_file, work / TOKENIZER_FILE)

    stage("verify", "checking ONNX Runtime against PyTorch on the test split")
    onnx_test = ort_logits(fp32, test)
    metrics["parity_max_abs_diff"] = max_abs_diff(predict_logits(student, test), onnx_test)
    if not _record_gate(
        verification, "max_parity_error", metrics["parity_max_abs_diff"], spec.gates
    ):
        raise GateError(
            "max_parity_error",
            metrics["parity_max_abs_diff"],
            spec.gates.max_parity_error,
            "ONNX Runtime vs PyTorch on the test split",
        )
    metrics["student_accuracy"] = accuracy(onnx_test, ys["test"])

    ops = TEXT_QUANTIZED_OPS if encoder is not None else QUANTIZED_OPS
    quantized = spec.quantization is QuantType.INT8 and _quantize(
        work, fp32, facts, test, ys["test"], ops, spec, metrics, verification, stage
    )

    shipped = metrics["student_int8_accuracy"] if quantized else metrics["student_accuracy"]
    metrics["retention_pct"] = 100.0 * shipped / max(metrics["teacher_accuracy"], 1e-12)
    if cached is not None:  # a paired bootstrap over test rows: how much the retention may move
        shipped_test = ort_logits(work / _model_files(quantized)[-1], test)
        metrics.update(retention_interval(teacher_test, shipped_test, ys["test"]))
    retention = metrics["retention_pct"] / 100
    if spec.gates.min_retention is not None and not _record_gate(
        verification, "min_retention", retention, spec.gates
    ):
        raise GateError(
            "min_retention", retention, spec.gates.min_retention, "student/teacher test accuracy"
        )

    metrics["peak_rss_export_mb"] = peak_rss_mb()

    stage("measure", "measuring size and latency")
    _size_and_latency(metrics, work, test, quantized, student, prepared)
    if spec.is_self_distillation and prepared.onnx_path is not None:
        prepared.onnx_path.unlink(missing_ok=True)  # the full model, measured for comparison

    stage("operators", "checking every ONNX operator against ONNX Runtime's CPU provider")
    operators = {name: assert_cpu_runs(work / name) for name in _model_files(quantized)}

    manifest = _manifest(spec, dataset, ctx, work, quantized, prepared, metrics, test, encoder, ops)
    manifest["operators"] = operators
    manifest["verification"] = verification
    manifest["report"] = write_report(work, manifest, history, on_event)
    mf.write_manifest(work, manifest)
    _verify_in_jvm(work, manifest, metrics, on_event)
    stage("done", _summary(metrics, quantized))
    return RunResult(work, manifest, metrics)


# ---------------------------------------------------------------- student and teacher outputs


def _preflight_student(
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
        origin = text_origin(source)
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


def _student(
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


def _self_teacher(spec: DistillSpec, dataset: LoadedDataset, ctx: RunContext) -> PreparedTeacher:
    """Stands in for the teacher when the student teaches itself: no model to load; for text,
    the directory whose tokenizer (and vocabulary) the student uses."""
    directory = None
    if dataset.modality == "text":
        ref = spec.self_distillation.tokenizer
        zoo = ZOO.get(ref)
        directory = zoo.locate() if isinstance(zoo, PretrainedTeacher) else None
        if directory is None:
            directory = resolve_under_root(ref, ctx.data_root, "self_distillation.tokenizer")
        if not (directory / TOKENIZER_FILE).is_file():
            raise SpecError("self_distillation.tokenizer", f"{ref!r} has no {TOKENIZER_FILE}")

    def no_teacher() -> Teacher:
        raise DistillError("self-distillation has no teacher to load")

    info = {"reference": "self", "architecture": "self-distillation (deepest exit)"}
    return PreparedTeacher(TeacherSource("self"), "self", no_teacher, info, 0, directory=directory)


def _self_distill_loss(
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


def _ship_exit(
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


def _teacher_outputs(
    ctx: RunContext,
    prepared: PreparedTeacher,
    dataset: LoadedDataset,
    splits: dict[str, Features],
    request: OutputRequest,
    encoder: TextEncoder | None,
    spec: DistillSpec,
) -> CacheResult:
    key = cache_key(
        teacher=prepared.identity,
        dataset=dataset.fingerprint,
        tokenizer=encoder.manifest_block() if encoder else None,
        request=asdict(request),
    )
    batch = teacher_batch_size(spec.training.batch_size, encoder is not None)
    return teacher_outputs(ctx.home / "teacher-cache", key, splits, request, prepared.load, batch)


def teacher_batch_size(student_batch: int, text: bool) -> int:
    """The teacher's inference batch: no larger than the student's training batch, so the
    teacher phase never peaks above the student phase. Under inference mode a forward holds
    only a layer or two of activations at a time, while a training step at the same batch
    holds every activation, their gradients and the optimizer state."""
    return max(1, min(student_batch, TEXT_TEACHER_BATCH if text else TEACHER_BATCH))


def _report_cache(cached: CacheResult, metrics: dict[str, float], on_event: EventSink) -> None:
    metrics["teacher_cache_hit"] = float(cached.hit)
    metrics["teacher_cache_seconds"] = cached.seconds
    if cached.hit:
        on_event(LogEvent("teacher outputs found in the cache: no teacher inference"))
    else:
        on_event(
            LogEvent(
                f"teacher outputs computed in {cached.seconds:.1f} s and cached; teacher released"
            )
        )


def _soft_targets_only(params: TrainingParams) -> TrainingParams:
    """Unlabeled data has no hard labels to warm up or fine-tune on: every stage of the
    schedule learns from the teacher alone (alpha 1), keeping its temperatures and rates."""
    schedule = params.resolved_schedule()
    stages = tuple(replace(s, alpha_start=1.0, alpha_end=1.0) for s in schedule.stages)
    return replace(params, schedule=Schedule(schedule.name, stages))


def _labels(dataset: LoadedDataset, cached: CacheResult) -> dict[str, np.ndarray]:
    """True labels; for an unlabeled dataset, validation and test are scored against the
    teacher's predictions (accuracy = agreement with the teacher) and training uses soft
    targets only."""
    ys = {n: getattr(dataset, n).y for n in ("train", "val", "test")}
    if not dataset.labeled:
        for n in ("val", "test"):
            ys[n] = np.asarray(cached.outputs[n].logits).argmax(axis=1)
    return ys


def _check_classes(logits: np.ndarray, dataset: LoadedDataset) -> None:
    if dataset.labeled and logits.shape[1] != dataset.num_classes:
        raise SpecError(
            "teacher.reference",
            f"teacher predicts {logits.shape[1]} classes but dataset {dataset.name!r} has "
            f"{dataset.num_classes}",
        )


# ---------------------------------------------------------------- export checks


def _model_files(quantized: bool) -> list[str]:
    return [mf.FP32_MODEL, mf.INT8_MODEL] if quantized else [mf.FP32_MODEL]


def _record_gate(verification: dict, gate: str, measured: float, gates: Gates) -> bool:
    """Adds a gate's outcome to the manifest's verification section (a failure stays on record
    when the job survives it through fp32_fallback); returns whether it passed."""
    limit = getattr(gates, gate)
    passed = measured >= limit if gate == "min_retention" else measured <= limit
    verification["gates"].append(
        {"gate": gate, "measured": float(measured), "limit": float(limit), "passed": passed}
    )
    return passed


def _verify_in_jvm(
    work: Path, manifest: dict, metrics: dict[str, float], on_event: EventSink
) -> None:
    """Loads the finished artifact with the Java client's own DistilledModel in a JVM (JPype);
    a failure there fails the job, a missing JVM is recorded as skipped with the reason."""
    on_event(StageEvent("jvm", "loading the artifact with the Java client's DistilledModel"))
    check = verify_in_jvm(work)
    if check.status == FAILED:
        raise DistillError(f"verification in the JVM failed: {check.reason}")
    if check.status == PASSED and check.max_abs_diff is not None:
        metrics["jvm_parity_max_abs_diff"] = check.max_abs_diff
        manifest["metrics"]["jvm_parity_max_abs_diff"] = check.max_abs_diff
    else:
        on_event(LogEvent(f"JVM check skipped: {check.reason}", "WARNING"))
    manifest["verification"]["jvm"] = check.to_dict()
    mf.write_manifest(work, manifest)


def _quantize(
    work: Path,
    fp32: Path,
    facts: dict,
    test: Features,
    y: np.ndarray,
    ops: list[str],
    spec: DistillSpec,
    metrics: dict[str, float],
    verification: dict,
    stage: Callable[[str, str], None],
) -> bool:
    """Writes model.int8.onnx and scores it. Returns False when the INT8 gate failed and the
    caller allowed an fp32-only artifact."""
    stage("quantize", f"INT8 dynamic quantization of {'/'.join(ops)}")
    int8 = quantize_int8(fp32, work / mf.INT8_MODEL, ops)
    embed_metadata(int8, {**facts, "distillbridge.quantization": "int8"})
    metrics["student_int8_accuracy"] = accuracy(ort_logits(int8, test), y)
    drop = metrics["student_accuracy"] - metrics["student_int8_accuracy"]
    metrics["int8_accuracy_drop"] = drop
    if _record_gate(verification, "max_int8_accuracy_drop", drop, spec.gates):
        return True
    gate = GateError(
        "max_int8_accuracy_drop",
        drop,
        spec.gates.max_int8_accuracy_drop,
        "fp32 minus INT8 test accuracy",
    )
    if not spec.gates.fp32_fallback:
        raise gate
    int8.unlink()
    del metrics["student_int8_accuracy"]
    metrics["int8_fallback"] = 1.0
    verification["gates"][-1]["action"] = "fp32_fallback: INT8 model dropped, fp32 shipped"
    stage("quantize", f"{gate}; shipping fp32 only (fp32_fallback)")
    return False


def _size_and_latency(
    metrics: dict[str, float],
    work: Path,
    test: Features,
    quantized: bool,
    student: nn.Module,
    prepared: PreparedTeacher,
) -> None:
    sample = test.head(1)
    fp32, int8 = work / mf.FP32_MODEL, work / mf.INT8_MODEL
    metrics["student_parameters"] = count_parameters(student)
    if prepared.info.get("parameters") is not None:
        metrics["teacher_parameters"] = prepared.info["parameters"]
    metrics["teacher_file_bytes"] = prepared.file_bytes
    metrics["student_onnx_bytes"] = fp32.stat().st_size
    metrics["student_latency_ms"] = latency_ms(fp32, sample)
    if quantized:
        metrics["student_int8_onnx_bytes"] = int8.stat().st_size
        metrics["student_int8_latency_ms"] = latency_ms(int8, sample)
    shipped = metrics.get("student_int8_onnx_bytes", metrics["student_onnx_bytes"])
    teacher_bytes = prepared.file_bytes
    onnx_path = prepared.onnx_path
    if onnx_path is not None and onnx_path.is_file():
        teacher_bytes = metrics["teacher_onnx_bytes"] = onnx_path.stat().st_size
        metrics["teacher_latency_ms"] = latency_ms(onnx_path, sample)
        metrics["speedup"] = metrics["teacher_latency_ms"] / metrics.get(
            "student_int8_latency_ms", metrics["student_latency_ms"]
        )
    metrics["compression_ratio"] = teacher_bytes / shipped


# ---------------------------------------------------------------- manifest


def _metadata_facts(spec: DistillSpec, dataset: LoadedDataset, job_id: str) -> dict:
    return {
        "distillbridge.format_version": str(mf.FORMAT_VERSION),
        "distillbridge.job_id": job_id,
        "distillbridge.labels": _label_names(dataset),
        "distillbridge.modality": dataset.modality,
        "distillbridge.teacher": spec.teacher,
        "distillbridge.student": {
            "architecture": spec.student.architecture,
            **asdict(spec.student),
        },
        "distillbridge.preprocessing": (
            {"tokenizer": TOKENIZER_FILE}
            if dataset.modality == "text"
            else {"baked_into_graph": True, "normalization": "standardize"}
        ),
    }


def _label_names(dataset: LoadedDataset) -> list[str]:
    return dataset.labels or [str(i) for i in range(dataset.num_classes)]


def _manifest(
    spec: DistillSpec,
    dataset: LoadedDataset,
    ctx: RunContext,
    work: Path,
    quantized: bool,
    prepared: PreparedTeacher,
    metrics: dict[str, float],
    test: Features,
    encoder: TextEncoder | None,
    ops: list[str],
) -> dict:
    models = {"fp32": mf.FP32_MODEL, "int8": mf.INT8_MODEL if quantized else None}
    spec_view = spec.to_dict()
    inputs = [
        {
            "name": name,
            "dtype": str(arr.dtype),
            "shape": [-1, *([-1] if encoder else list(arr.shape[1:]))],
        }
        for name, arr in zip(test.names, test.arrays, strict=True)
    ]
    texts = list(dataset.test.x[:4]) if encoder else None
    manifest = {
        "format_version": mf.FORMAT_VERSION,
        "created_at": mf.now_iso(),
        "job_id": ctx.job_id,
        "name": spec.name,
        "modality": dataset.modality,
        "input": inputs[0],
        "inputs": inputs,
        "output": {
            "name": OUTPUT_NAME,
            "dtype": "float32",
            "shape": [-1, dataset.num_classes],
            "kind": "logits",
        },
        "labels": _label_names(dataset),
        "labels_from_teacher": not dataset.labeled,
        "preprocessing": _preprocessing(dataset, encoder),
        "dataset": {
            "reference": spec.dataset.display_name,
            "fingerprint": dataset.fingerprint,
            "rows": {
                "train": len(dataset.train),
                "val": len(dataset.val),
                "test": len(dataset.test),
            },
        },
        "teacher": prepared.info,
        "student": {**spec_view["student"], "parameters": int(metrics["student_parameters"])},
        "training": spec_view["training"],
        "gates": spec_view["gates"],
        "opset": OPSET,
        "quantization": recipe(ops) if quantized else None,
        "models": models,
        "files": mf.file_entries(work),
        "metrics": {k: float(v) for k, v in sorted(metrics.items()) if math.isfinite(v)},
        "golden_vectors": {
            name: golden_vectors(work / name, test, texts) for name in models.values() if name
        },
        "runtime": {
            "onnxruntime": ort.__version__,
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "python": platform.python_version(),
        },
    }
    if encoder is not None:
        manifest["tokenizer"] = encoder.manifest_block()
    return manifest


def _preprocessing(dataset: LoadedDataset, encoder: TextEncoder | None) -> dict:
    if encoder is not None:
        return {
            "baked_into_graph": False,
            "tokenizer": TOKENIZER_FILE,
            "max_length": encoder.max_length,
        }
    mean, std = dataset.normalization()
    return {
        "baked_into_graph": True,
        "normalization": "standardize",
        "feature_names": dataset.feature_names,
        "mean": mean.reshape(-1).tolist(),
        "std": std.reshape(-1).tolist(),
    }


def _summary(metrics: dict[str, float], quantized: bool) -> str:
    acc = metrics["student_int8_accuracy"] if quantized else metrics["student_accuracy"]
    ci = metrics.get("retention_ci_low_pct"), metrics.get("retention_ci_high_pct")
    base = metrics.get("majority_baseline_accuracy")
    return (
        f"teacher {metrics['teacher_accuracy']:.4f}, student {acc:.4f} "
        f"({metrics['retention_pct']:.1f}% retained"
        + (f", 95% CI {ci[0]:.1f}-{ci[1]:.1f}%" if None not in ci else "")
        + ")"
        + (f", majority-class baseline {base:.4f}" if base is not None else "")
        + f", {metrics['compression_ratio']:.1f}x smaller"
    )


def _stage_reporter(on_event: EventSink) -> Callable[[str, str], None]:
    def stage(name: str, message: str = "") -> None:
        on_event(StageEvent(name, message))

    return stage


__all__ = ["RunContext", "RunResult", "run"]
