"""The distillation flow, top to bottom: data -> teacher outputs (cached, teacher released) ->
student training -> ONNX export -> INT8 -> verification and gates -> artifact directory.

Knows nothing about gRPC, the CLI or Java: doors hand it a `DistillSpec` and an event sink.
"""

from __future__ import annotations

import fcntl
import json
import math
import platform
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from bridge.data import LoadedDataset, load_dataset
from bridge.distill import accuracy, predict_logits, train
from bridge.errors import DistillError, GateError
from bridge.events import Event, EventSink, LogEvent, StageEvent, ValidationEvent, ignore_events
from bridge.export import manifest as mf
from bridge.export.onnx_export import INPUT_NAME, OPSET, OUTPUT_NAME, embed_metadata, export_onnx
from bridge.export.preflight import preflight, tabular_batches
from bridge.export.quantize import RECIPE, quantize_int8
from bridge.export.verify import (
    assert_cpu_runs,
    golden_vectors,
    latency_ms,
    max_abs_diff,
    ort_logits,
)
from bridge.jvm import FAILED, PASSED, verify_in_jvm
from bridge.models import (
    ZOO,
    Teacher,
    ZooTeacher,
    build_student,
    count_parameters,
    resolve_teacher,
)
from bridge.models.builders import with_normalization
from bridge.models.teachers import TeacherSource, TorchScriptTeacher, load_teacher_file
from bridge.paths import sha256_file
from bridge.spec import DistillSpec, Gates, QuantType, SpecError, TrainingParams


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
    stage = _stage_reporter(on_event)
    metrics: dict[str, float] = {}

    stage("load", f"loading dataset {spec.dataset.display_name}")
    dataset = load_dataset(spec.dataset, ctx.data_root)
    source = resolve_teacher(spec.teacher, spec.dataset, ctx.data_root)
    torch.manual_seed(spec.training.seed)
    student = build_student(spec.student, dataset)

    stage("preflight", "exporting the untrained student to ONNX Runtime before training")
    batches = tabular_batches(dataset.train.x)
    checked = preflight(student, batches, dataset.num_classes, work, spec.gates.max_parity_error)
    verification: dict = {"preflight": checked.to_dict(), "gates": []}

    stage("teacher", f"computing teacher outputs once ({source.reference})")
    teacher = load_teacher(source, dataset, ctx.home, on_event)
    t0 = time.perf_counter()
    train_logits = teacher.logits(dataset.train.x)
    test_logits = teacher.logits(dataset.test.x)
    metrics["teacher_cache_seconds"] = time.perf_counter() - t0
    _check_classes(train_logits, dataset)
    metrics["teacher_accuracy"] = accuracy(test_logits, dataset.test.y)
    teacher_info, teacher_onnx = teacher.describe(), teacher.onnx_path
    teacher_file_bytes = teacher.path.stat().st_size
    teacher.release()  # only the cached logits are needed from here on
    del teacher

    stage(
        "train",
        f"training {spec.student.architecture} student ({count_parameters(student):,} parameters)",
    )
    outcome = train(
        student, dataset, spec.training, train_logits, on_event, should_stop=ctx.should_stop
    )
    metrics["train_seconds"] = outcome.seconds
    metrics["best_epoch"] = outcome.best_epoch
    metrics["student_val_accuracy"] = outcome.best_val_accuracy

    stage("export", f"exporting to ONNX (opset {OPSET})")
    fp32 = export_onnx(student, dataset.test.x, work / mf.FP32_MODEL)
    facts = _metadata_facts(spec, dataset, ctx.job_id)
    embed_metadata(fp32, facts)

    stage("verify", "checking ONNX Runtime against PyTorch on the test split")
    torch_test = predict_logits(student, dataset.test.x)
    onnx_test = ort_logits(fp32, dataset.test.x)
    metrics["parity_max_abs_diff"] = max_abs_diff(torch_test, onnx_test)
    if not _record_gate(
        verification, "max_parity_error", metrics["parity_max_abs_diff"], spec.gates
    ):
        raise GateError(
            "max_parity_error",
            metrics["parity_max_abs_diff"],
            spec.gates.max_parity_error,
            "ONNX Runtime vs PyTorch on the test split",
        )
    metrics["student_accuracy"] = accuracy(onnx_test, dataset.test.y)

    quantized = spec.quantization is QuantType.INT8
    if quantized:
        quantized = _quantize(work, fp32, facts, dataset, spec, metrics, verification, stage)

    best = metrics["student_int8_accuracy"] if quantized else metrics["student_accuracy"]
    metrics["retention_pct"] = 100.0 * best / max(metrics["teacher_accuracy"], 1e-12)
    retention = metrics["retention_pct"] / 100
    gates = spec.gates
    if gates.min_retention is not None and not _record_gate(
        verification, "min_retention", retention, gates
    ):
        raise GateError(
            "min_retention",
            retention,
            gates.min_retention,
            "student/teacher test accuracy",
        )

    stage("measure", "measuring size and latency")
    _size_and_latency(
        metrics, work, dataset, quantized, student, teacher_info, teacher_onnx, teacher_file_bytes
    )

    stage("operators", "checking every ONNX operator against ONNX Runtime's CPU provider")
    operators = {name: assert_cpu_runs(work / name) for name in _model_files(quantized)}

    manifest = _manifest(spec, dataset, ctx, work, quantized, teacher_info, metrics)
    manifest["operators"] = operators
    manifest["verification"] = verification
    mf.write_manifest(work, manifest)
    _verify_in_jvm(work, manifest, metrics, on_event)
    stage("done", _summary(metrics, quantized))
    return RunResult(work, manifest, metrics)


# ---------------------------------------------------------------- teachers


def load_teacher(
    source: TeacherSource, dataset: LoadedDataset, home: Path, on_event: EventSink
) -> Teacher:
    if source.zoo is None:
        return load_teacher_file(source)
    directory = ensure_zoo_teacher(source.zoo, dataset, home, on_event)
    teacher = TorchScriptTeacher(
        source.reference, directory / "teacher.pt", source.zoo.architecture
    )
    teacher.onnx_path = directory / "teacher.onnx"
    return teacher


def ensure_zoo_teacher(
    zoo: ZooTeacher, dataset: LoadedDataset, home: Path, on_event: EventSink = ignore_events
) -> Path:
    """Trains the zoo teacher on its dataset's training split on first use and caches it
    (TorchScript + ONNX + info.json). A file lock keeps concurrent jobs from training twice."""
    directory = zoo.cache_dir(home)
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        info = zoo.cached_info(home)
        if info and info.get("dataset_fingerprint") == dataset.fingerprint:
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
        )
        outcome = train(
            model,
            dataset,
            params,
            None,
            _as_teacher_log(zoo.name, on_event),
            weight_decay=zoo.weight_decay,
        )
        test_acc = accuracy(predict_logits(model, dataset.test.x), dataset.test.y)
        with warnings.catch_warnings():  # TorchScript is deprecated but is what users bring
            warnings.simplefilter("ignore", FutureWarning)
            scripted = torch.jit.script(model)
        scripted.save(str(directory / "teacher.pt.tmp"))
        (directory / "teacher.pt.tmp").replace(directory / "teacher.pt")
        export_onnx(model, dataset.test.x, directory / "teacher.onnx.tmp")
        (directory / "teacher.onnx.tmp").replace(directory / "teacher.onnx")
        info = {
            "name": zoo.name,
            "dataset": dataset.name,
            "dataset_fingerprint": dataset.fingerprint,
            "test_accuracy": test_acc,
            "val_accuracy": outcome.best_val_accuracy,
            "parameters": count_parameters(model),
            "sha256": sha256_file(directory / "teacher.pt"),
            "train_seconds": outcome.seconds,
        }
        (directory / "info.json").write_text(json.dumps(info, indent=2))
        on_event(LogEvent(f"zoo teacher {zoo.name}: test accuracy {test_acc:.4f}"))
        return directory


def _as_teacher_log(name: str, on_event: EventSink) -> EventSink:
    """Teacher training reports as log lines, so watchers do not mistake it for the student's."""

    def sink(event: Event) -> None:
        if isinstance(event, ValidationEvent):
            on_event(
                LogEvent(f"teacher {name} epoch {event.epoch}: val accuracy {event.accuracy:.4f}")
            )

    return sink


def _check_classes(logits: np.ndarray, dataset: LoadedDataset) -> None:
    if logits.shape[1] != dataset.num_classes:
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
    dataset: LoadedDataset,
    spec: DistillSpec,
    metrics: dict[str, float],
    verification: dict,
    stage: Callable[[str, str], None],
) -> bool:
    """Writes model.int8.onnx and scores it. Returns False when the INT8 gate failed and the
    caller allowed an fp32-only artifact."""
    stage("quantize", "INT8 dynamic quantization of MatMul/Gemm")
    int8 = quantize_int8(fp32, work / mf.INT8_MODEL)
    embed_metadata(int8, {**facts, "distillbridge.quantization": "int8"})
    metrics["student_int8_accuracy"] = accuracy(ort_logits(int8, dataset.test.x), dataset.test.y)
    drop = metrics["student_accuracy"] - metrics["student_int8_accuracy"]
    metrics["int8_accuracy_drop"] = drop
    _record_gate(verification, "max_int8_accuracy_drop", drop, spec.gates)
    if drop <= spec.gates.max_int8_accuracy_drop:
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
    dataset: LoadedDataset,
    quantized: bool,
    student: torch.nn.Module,
    teacher_info: dict,
    teacher_onnx: Path | None,
    teacher_file_bytes: int,
) -> None:
    sample = dataset.test.x[:1]
    fp32, int8 = work / mf.FP32_MODEL, work / mf.INT8_MODEL
    metrics["student_parameters"] = count_parameters(student)
    if teacher_info.get("parameters") is not None:
        metrics["teacher_parameters"] = teacher_info["parameters"]
    metrics["teacher_file_bytes"] = teacher_file_bytes
    metrics["student_onnx_bytes"] = fp32.stat().st_size
    metrics["student_latency_ms"] = latency_ms(fp32, sample)
    if quantized:
        metrics["student_int8_onnx_bytes"] = int8.stat().st_size
        metrics["student_int8_latency_ms"] = latency_ms(int8, sample)
    shipped = metrics.get("student_int8_onnx_bytes", metrics["student_onnx_bytes"])
    teacher_bytes = teacher_file_bytes
    if teacher_onnx is not None and teacher_onnx.is_file():
        teacher_bytes = metrics["teacher_onnx_bytes"] = teacher_onnx.stat().st_size
        metrics["teacher_latency_ms"] = latency_ms(teacher_onnx, sample)
        metrics["speedup"] = metrics["teacher_latency_ms"] / metrics.get(
            "student_int8_latency_ms", metrics["student_latency_ms"]
        )
    metrics["compression_ratio"] = teacher_bytes / shipped


# ---------------------------------------------------------------- manifest


def _metadata_facts(spec: DistillSpec, dataset: LoadedDataset, job_id: str) -> dict:
    mean, std = dataset.normalization()
    return {
        "distillbridge.format_version": str(mf.FORMAT_VERSION),
        "distillbridge.job_id": job_id,
        "distillbridge.labels": dataset.labels,
        "distillbridge.modality": dataset.modality,
        "distillbridge.teacher": spec.teacher,
        "distillbridge.student": {
            "architecture": spec.student.architecture,
            **asdict(spec.student),
        },
        "distillbridge.preprocessing": {
            "baked_into_graph": True,
            "normalization": "standardize",
            "mean_shape": list(mean.shape),
        },
    }


def _manifest(
    spec: DistillSpec,
    dataset: LoadedDataset,
    ctx: RunContext,
    work: Path,
    quantized: bool,
    teacher_info: dict,
    metrics: dict[str, float],
) -> dict:
    mean, std = dataset.normalization()
    golden_x = dataset.test.x
    models = {"fp32": mf.FP32_MODEL, "int8": mf.INT8_MODEL if quantized else None}
    spec_view = spec.to_dict()
    return {
        "format_version": mf.FORMAT_VERSION,
        "created_at": mf.now_iso(),
        "job_id": ctx.job_id,
        "name": spec.name,
        "modality": dataset.modality,
        "input": {"name": INPUT_NAME, "dtype": "float32", "shape": [-1, *dataset.input_shape]},
        "output": {
            "name": OUTPUT_NAME,
            "dtype": "float32",
            "shape": [-1, dataset.num_classes],
            "kind": "logits",
        },
        "labels": dataset.labels,
        "preprocessing": {
            "baked_into_graph": True,
            "normalization": "standardize",
            "feature_names": dataset.feature_names,
            "mean": mean.reshape(-1).tolist(),
            "std": std.reshape(-1).tolist(),
        },
        "dataset": {
            "reference": spec.dataset.display_name,
            "fingerprint": dataset.fingerprint,
            "rows": {
                "train": len(dataset.train),
                "val": len(dataset.val),
                "test": len(dataset.test),
            },
        },
        "teacher": teacher_info,
        "student": {**spec_view["student"], "parameters": int(metrics["student_parameters"])},
        "training": spec_view["training"],
        "gates": spec_view["gates"],
        "opset": OPSET,
        "quantization": RECIPE if quantized else None,
        "models": models,
        "files": mf.file_entries(work),
        "metrics": {k: float(v) for k, v in sorted(metrics.items()) if math.isfinite(v)},
        "golden_vectors": {
            name: golden_vectors(work / name, golden_x) for name in models.values() if name
        },
        "runtime": {
            "onnxruntime": ort.__version__,
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "python": platform.python_version(),
        },
    }


def _summary(metrics: dict[str, float], quantized: bool) -> str:
    acc = metrics["student_int8_accuracy"] if quantized else metrics["student_accuracy"]
    return (
        f"teacher {metrics['teacher_accuracy']:.4f}, student {acc:.4f} "
        f"({metrics['retention_pct']:.1f}% retained), "
        f"{metrics['compression_ratio']:.1f}x smaller"
    )


def _stage_reporter(on_event: EventSink) -> Callable[[str, str], None]:
    def stage(name: str, message: str = "") -> None:
        on_event(StageEvent(name, message))

    return stage


__all__ = ["RunContext", "RunResult", "ZOO", "ensure_zoo_teacher", "load_teacher", "run"]
