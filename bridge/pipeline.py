"""The distillation flow, top to bottom: data -> teacher (prepared, cached) -> student ->
pre-flight export -> teacher outputs (computed once, memory-mapped, teacher released) ->
training -> ONNX export -> INT8 -> verification and gates -> artifact directory.

Knows nothing about gRPC, the CLI or Java: doors hand it a `DistillSpec` and an event sink.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from bridge.cache_budget import CacheBudget
from bridge.data import LoadedDataset, load_dataset
from bridge.data.augment import with_shifted_copies
from bridge.data.tokenize import TOKENIZER_FILE
from bridge.distill import TrainData, accuracy, predict_logits, train
from bridge.distill.distributed import train_distributed
from bridge.distill.evaluation import retention_interval, teacher_metrics
from bridge.distill.memory import peak_rss_mb, phase_peak, reset_peak
from bridge.distill.ray_train import train_on_ray
from bridge.distill.search import SearchResult, search_schedule
from bridge.distill.teacher_cache import check_classes, report_cache, split_labels
from bridge.distill.trainer import soft_targets_only
from bridge.errors import DistillError
from bridge.events import EventSink, LogEvent, StageEvent, ignore_events
from bridge.export import manifest as mf
from bridge.export.describe import build_manifest, metadata_facts
from bridge.export.gates import enforce_gate, model_files, quantize, size_and_latency
from bridge.export.onnx_export import OPSET, embed_metadata, export_onnx
from bridge.export.preflight import preflight, preflight_batches
from bridge.export.quantize import QUANTIZED_OPS, TEXT_QUANTIZED_OPS
from bridge.export.verify import assert_cpu_runs, max_abs_diff, ort_logits
from bridge.jvm import FAILED, PASSED, verify_in_jvm
from bridge.models import count_parameters, resolve_teacher
from bridge.progress import single_step
from bridge.report import TrainingHistory, write_report
from bridge.spec import (
    DistillSpec,
    QuantType,
    TrainingParams,
    check_augmentation,
    check_student_modality,
    student_max_length,
)
from bridge.student_prep import (
    StudentTokenizer,
    example_classes,
    preflight_student,
    self_distill_loss,
    ship_exit,
    student_features,
    student_tokenizer,
    text_origin,
    training_student,
)
from bridge.teacher_prep import (
    prepare_teacher,
    self_teacher,
    teacher_features,
    teacher_labels,
    teacher_outputs_for,
)


@dataclass(frozen=True)
class RunContext:
    """Where a run may read and cache things. `data_root` None = a local run (any path)."""

    home: Path
    data_root: Path | None = None
    job_id: str = ""
    should_stop: Callable[[], bool] = field(default=lambda: False)
    # Set when the job runs on a Ray cluster: training.workers > 1 then uses Ray Train there.
    ray_address: str | None = None
    # What the teacher-output cache may take (the operator's: serve --teacher-cache-budget).
    teacher_cache_budget: CacheBudget = field(default_factory=CacheBudget)


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
        check_augmentation(spec.training, dataset.name, dataset.modality)
        if spec.is_self_distillation:
            source, self_prepared = None, self_teacher(spec, dataset, ctx.data_root)
        else:
            source = resolve_teacher(
                spec.teacher, spec.dataset, ctx.data_root, dataset.modality, spec.teacher_output
            )
            self_prepared = None
        max_length = student_max_length(spec.student)
        origin: Path | None = None
        tokenizer: StudentTokenizer | None = None
        if dataset.modality == "text":  # what the student reads and ships (pruned by default)
            origin = text_origin(source, self_prepared.directory if self_prepared else None)
            tokenizer = student_tokenizer(
                spec, dataset, origin, work, max_length, metrics, on_event
            )

    # Before any training (the teacher's own preparation included): a student that cannot
    # export or run in ONNX Runtime fails here, in seconds.
    stage("preflight", "exporting the untrained student to ONNX Runtime before training")
    torch.manual_seed(spec.training.seed)
    with phase_peak(metrics, "preflight"):
        student, example = preflight_student(spec, dataset, origin, tokenizer, max_length)
        checked = preflight(
            student,
            preflight_batches(example),
            example_classes(student, example),
            work,
            spec.gates.max_parity_error,
        )
    verification: dict = {"preflight": checked.to_dict(), "gates": []}

    with phase_peak(metrics, "prepare"):
        if self_prepared is not None:
            prepared = self_prepared
        else:
            assert source is not None
            prepared = prepare_teacher(
                source, dataset, spec.teacher_preparation, ctx.home, on_event
            )
        metrics.update(prepared.metrics)
        if not dataset.labeled:  # pure soft-label distillation: the teacher defines the classes
            dataset = replace(dataset, labels=teacher_labels(prepared))
        if spec.training.augment_copies:  # after the teacher's own training: it never sees them
            dataset = _augment_training_split(dataset, spec.training, metrics, on_event)
        # The teacher reads its own tokenizer; the student its own (the same, or pruned).
        teacher_splits, teacher_encoder = teacher_features(prepared, dataset, max_length)
        splits = teacher_splits
        if tokenizer is not None:
            splits = student_features(tokenizer, dataset, teacher_splits)
    encoder = tokenizer.encoder if tokenizer is not None else None
    torch.manual_seed(spec.training.seed)
    student, feature_loss, request = training_student(
        spec, dataset, prepared, student, tokenizer, on_event
    )
    self_loss = self_distill_loss(spec, student, on_event)

    cached = None
    ys = {n: getattr(dataset, n).y for n in ("train", "val", "test")}
    if self_loss is None:
        stage("teacher", f"teacher outputs for {prepared.source.reference} (computed once, cached)")
        with phase_peak(metrics, "teacher"):
            cached = teacher_outputs_for(
                prepared,
                ctx.home,
                dataset,
                teacher_splits,
                request,
                teacher_encoder,
                spec.training.batch_size,
                on_event,
                ctx.teacher_cache_budget,
            )
        report_cache(cached, metrics, on_event, len(teacher_splits["train"]))
        teacher_test = np.asarray(cached.outputs["test"].logits)
        check_classes(teacher_test, dataset)
        ys = split_labels(dataset, cached)
        metrics.update(teacher_metrics(teacher_test, ys["train"], ys["test"]))

    stage(
        "train",
        f"training {spec.student.architecture} student ({count_parameters(student):,} parameters)"
        + (f" on {spec.training.workers} workers" if spec.training.workers > 1 else ""),
    )
    train_data = TrainData(
        splits["train"], ys["train"], cached.outputs["train"] if cached else None
    )
    val_data = TrainData(splits["val"], ys["val"])
    search: SearchResult | None = None
    with phase_peak(metrics, "train"):
        if spec.training.searches:
            student, outcome, search = search_schedule(
                student,
                train_data,
                val_data,
                spec.training,
                on_event,
                labeled=dataset.labeled,
                feature_loss=feature_loss,
                self_distill=self_loss,
                should_stop=ctx.should_stop,
            )
            metrics.update(search.metrics())
        elif spec.training.workers > 1 and ctx.ray_address:
            outcome = train_on_ray(
                ctx.ray_address,
                spec.training.workers,
                student,
                train_data,
                val_data,
                _concrete(spec.training, dataset.labeled),
                on_event,
                storage=work.with_name(work.name + ".ray-train"),
                feature_loss=feature_loss,
                self_distill=self_loss,
                should_stop=ctx.should_stop,
            )
        elif spec.training.workers > 1:
            outcome = train_distributed(
                work.with_name(work.name + ".ddp"),
                spec.training.workers,
                student,
                train_data,
                val_data,
                _concrete(spec.training, dataset.labeled),
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
                _concrete(spec.training, dataset.labeled),
                on_event,
                feature_loss=feature_loss,
                self_distill=self_loss,
                should_stop=ctx.should_stop,
            )
    if cached is not None:
        cached.close()  # a teacher kept to recompute feature targets goes now
    metrics.update(
        train_seconds=outcome.seconds,
        train_cpu_seconds=outcome.cpu_seconds,
        best_epoch=outcome.best_epoch,
        student_val_accuracy=outcome.best_val_accuracy,
    )
    if self_loss is not None:
        student, full = ship_exit(spec, student, splits["test"], ys["test"], metrics, on_event)
        full_onnx = work.with_name(work.name + ".full.onnx")  # outside the artifact
        prepared.onnx_path = export_onnx(full, splits["test"], full_onnx)
        prepared.file_bytes = full_onnx.stat().st_size

    stage("export", f"exporting to ONNX (opset {OPSET})")
    test = splits["test"]
    reset_peak()  # the export phase's peak runs to the end of quantization
    with single_step(on_event, "export", "tracing the student and writing ONNX"):
        fp32 = export_onnx(student, test, work / mf.FP32_MODEL)
    facts = metadata_facts(spec, dataset, ctx.job_id)
    embed_metadata(fp32, facts)
    if tokenizer is not None and not tokenizer.pruned:  # a pruned one is already in `work`
        shutil.copy2(prepared.tokenizer_file, work / TOKENIZER_FILE)

    stage("verify", "checking ONNX Runtime against PyTorch on the test split")
    onnx_test = ort_logits(fp32, test)
    parity = max_abs_diff(predict_logits(student, test), onnx_test)
    metrics["parity_max_abs_diff"] = parity
    enforce_gate(verification, "max_parity_error", parity, spec.gates)
    metrics["student_accuracy"] = accuracy(onnx_test, ys["test"])

    ops = TEXT_QUANTIZED_OPS if encoder is not None else QUANTIZED_OPS
    quantized = False
    if spec.quantization is QuantType.INT8:
        with single_step(on_event, "quantize", "dynamic INT8 quantization and its checks"):
            quantized = quantize(
                work, fp32, facts, test, ys["test"], ops, spec.gates, metrics, verification, stage
            )

    shipped = metrics["student_int8_accuracy"] if quantized else metrics["student_accuracy"]
    metrics["retention_pct"] = 100.0 * shipped / max(metrics["teacher_accuracy"], 1e-12)
    if cached is not None:  # a paired bootstrap over test rows: how much the retention may move
        shipped_test = ort_logits(work / model_files(quantized)[-1], test)
        metrics.update(retention_interval(teacher_test, shipped_test, ys["test"]))
    if spec.gates.min_retention is not None:
        enforce_gate(verification, "min_retention", metrics["retention_pct"] / 100, spec.gates)

    metrics["peak_rss_export_mb"] = peak_rss_mb()

    stage("measure", "measuring size and latency")
    metrics["student_parameters"] = count_parameters(student)
    if prepared.info.get("parameters") is not None:
        metrics["teacher_parameters"] = prepared.info["parameters"]
    size_and_latency(metrics, work, test, quantized, prepared.file_bytes, prepared.onnx_path)
    if spec.is_self_distillation and prepared.onnx_path is not None:
        prepared.onnx_path.unlink(missing_ok=True)  # the full model, measured for comparison

    stage("operators", "checking every ONNX operator against ONNX Runtime's CPU provider")
    operators = {name: assert_cpu_runs(work / name) for name in model_files(quantized)}

    manifest = build_manifest(
        spec, dataset, ctx.job_id, work, quantized, prepared.info, metrics, test, encoder, ops
    )
    manifest["operators"] = operators
    if cached is not None and cached.plan is not None:  # which feature path, and why
        manifest["teacher_cache"] = cached.plan.to_dict()
    if search is not None:
        manifest["training"]["search"] = search.to_dict()
    manifest["verification"] = verification
    manifest["report"] = write_report(work, manifest, history, on_event)
    mf.write_manifest(work, manifest)
    with single_step(on_event, "jvm_check", "loading the artifact with the Java client"):
        _verify_in_jvm(work, manifest, metrics, on_event)
    stage("done", _summary(metrics, quantized))
    return RunResult(work, manifest, metrics)


def _augment_training_split(
    dataset: LoadedDataset, training: TrainingParams, metrics: dict[str, float], on_event: EventSink
) -> LoadedDataset:
    """The training split with `training.augment_copies` shifted copies of each image."""
    original = len(dataset.train)
    dataset = with_shifted_copies(dataset, training.augment_copies, training.seed)
    metrics["train_rows_augmented"] = float(len(dataset.train))
    on_event(
        LogEvent(
            f"training on {len(dataset.train):,} rows: {original:,} images and "
            f"{training.augment_copies} shifted copies of each, all labelled by the teacher"
        )
    )
    return dataset


def _concrete(training: TrainingParams, labeled: bool) -> TrainingParams:
    """The training parameters as the trainer runs them: unlabeled data learns from soft
    targets alone."""
    return training if labeled else soft_targets_only(training)


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
