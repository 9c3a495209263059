"""What an artifact says about itself: the facts embedded in each ONNX file's metadata and the
manifest.json the pipeline writes (docs/ARTIFACT.md). Kept apart from `manifest.py` (names,
reading, writing, checking), which clients and the server import without torch or ORT."""

from __future__ import annotations

import math
import platform
from dataclasses import asdict
from pathlib import Path

import onnx
import onnxruntime as ort
import torch

from bridge.data import LoadedDataset
from bridge.data.features import Features
from bridge.data.tokenize import TOKENIZER_FILE, TextEncoder
from bridge.export import manifest as mf
from bridge.export.onnx_export import OPSET, OUTPUT_NAME
from bridge.export.quantize import recipe
from bridge.export.verify import golden_vectors
from bridge.spec import DistillSpec


def metadata_facts(spec: DistillSpec, dataset: LoadedDataset, job_id: str) -> dict:
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


def build_manifest(
    spec: DistillSpec,
    dataset: LoadedDataset,
    job_id: str,
    work: Path,
    quantized: bool,
    teacher_info: dict,
    metrics: dict[str, float],
    test: Features,
    encoder: TextEncoder | None,
    ops: list[str],
) -> dict:
    """The manifest of the models in `work`, less what the pipeline adds after (operators,
    verification, report)."""
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
        "job_id": job_id,
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
            # a file's validation and test rows: from their own files or cut from it
            "split": dataset.split or None,
        },
        "teacher": teacher_info,
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
