"""The CLI's view of a `DistillSpec`: a JSON config (the proto's JSON mapping, read with
protobuf's `json_format`), flags for the common fields, and `--set FIELD=VALUE` for any field.

Every flag is a named shortcut for one proto path, applied by the same `set_field` as `--set`,
so a flag cannot drift from the wire: what it sets is exactly what the proto field means. Only
flags given on the command line apply (argparse defaults are suppressed), after the config file.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.spec import SpecError


@dataclass(frozen=True)
class SpecFlag:
    """`--name VALUE` sets the proto field at `path` to VALUE, or, for a flag that sets more
    than one field or converts its value, the fields `convert(VALUE)` returns ({path: value})."""

    name: str
    help: str
    path: str | None = None
    type: Callable[[str], Any] = str
    convert: Callable[[Any], dict[str, Any]] | None = None
    metavar: str | None = None
    is_switch: bool = False

    def fields(self, value: Any) -> dict[str, Any]:
        if self.convert is not None:
            return self.convert(value)
        assert self.path is not None
        return {self.path: value}

    def argparse_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"help": self.help, "default": argparse.SUPPRESS}
        if self.is_switch:
            return {**kwargs, "action": "store_true"}
        return {**kwargs, "type": self.type, "metavar": self.metavar}


def _transformer(text: str) -> dict[str, Any]:
    values = _ints(text, "--transformer")
    if len(values) != 5:
        raise SpecError("--transformer", f"expected layers,hidden,heads,ff,max_len, got {text!r}")
    names = ("layers", "hidden_size", "heads", "intermediate_size", "max_seq_len")
    return {f"student.transformer.{n}": v for n, v in zip(names, values, strict=True)}


def _ints(text: str, flag: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SpecError(flag, f"expected comma-separated integers, got {text!r}") from None


def _int_list(flag: str, path: str) -> Callable[[str], dict[str, Any]]:
    return lambda text: {path: _ints(text, flag)}


SPEC_FLAGS: tuple[SpecFlag, ...] = (
    SpecFlag("name", "label shown in listings", "name"),
    SpecFlag(
        "registered-model-name",
        "MLflow registered model the artifact becomes a version of (default: --name)",
        "registered_model_name",
        metavar="NAME",
    ),
    SpecFlag("teacher", "zoo name or a teacher file / HF directory path", "teacher.reference"),
    SpecFlag("teacher-upload-id", "a teacher stored on the server", "teacher.upload_id"),
    SpecFlag(
        "teacher-output",
        "ONNX teacher: the output that scores the classes (else chosen by type and shape)",
        "teacher.output",
        metavar="NAME",
    ),
    SpecFlag("dataset", "built-in dataset name", "dataset.builtin"),
    SpecFlag("dataset-path", "CSV, JSONL or NPZ file", "dataset.path"),
    SpecFlag("dataset-upload-id", "a dataset stored on the server", "dataset.upload_id"),
    SpecFlag("label-column", "label column of a CSV/JSONL file", "dataset.label_column"),
    SpecFlag("text-column", "text column of a CSV/JSONL file", "dataset.text_column"),
    SpecFlag(
        "validation-path",
        "validation file (else cut from the training file)",
        "dataset.validation_path",
    ),  # fmt: skip
    SpecFlag("test-path", "test file (else cut from the training file)", "dataset.test_path"),
    SpecFlag(
        "split-column",
        "column saying per row train, validation or test (CSV/JSONL)",
        "dataset.split_column",
        metavar="COLUMN",
    ),
    SpecFlag(
        "validation-fraction",
        "share of the training file cut for validation (0.15)",
        "dataset.validation_fraction",
        float,
    ),  # fmt: skip
    SpecFlag(
        "test-fraction",
        "share of the training file cut for test (0.15)",
        "dataset.test_fraction",
        float,
    ),  # fmt: skip
    SpecFlag(
        "mlp",
        "MLP student hidden sizes, e.g. 64,32",
        convert=_int_list("--mlp", "student.mlp.hidden_sizes"),
        metavar="SIZES",
    ),
    SpecFlag(
        "cnn",
        "CNN student channels, e.g. 16,32",
        convert=_int_list("--cnn", "student.cnn.channels"),
        metavar="CHANNELS",
    ),
    SpecFlag("kernel-size", "CNN kernel size (odd)", "student.cnn.kernel_size", int),
    SpecFlag(
        "transformer",
        "Transformer student, e.g. 2,384,12,1536,64 (initialised from the teacher when "
        "widths match)",
        convert=_transformer,
        metavar="L,H,HEADS,FF,MAXLEN",
    ),
    SpecFlag(
        "keep-vocabulary",
        "with --transformer: keep the teacher's whole vocabulary (default: prune it to the "
        "training split's tokens)",
        convert=lambda _: {"student.transformer.prune_vocabulary": False},
        is_switch=True,
    ),
    SpecFlag(
        "int8",
        "also ship an INT8 model",
        convert=lambda _: {"quantization": "QUANT_TYPE_INT8"},
        is_switch=True,
    ),
    SpecFlag("epochs", "training epochs", "training.epochs", int),
    SpecFlag("batch-size", "global batch size", "training.batch_size", int),
    SpecFlag("learning-rate", "learning rate", "training.learning_rate", float),
    SpecFlag("temperature", "softmax temperature", "training.temperature", float),
    SpecFlag("alpha", "soft-loss weight: alpha*soft + (1-alpha)*hard", "training.alpha", float),
    SpecFlag("seed", "random seed", "training.seed", int),
    SpecFlag("workers", "DDP workers", "training.workers", int),
    SpecFlag(
        "schedule",
        "progressive (default), constant, or auto (search temperature, alpha and shape on the "
        "validation split)",
        "training.schedule",
    ),
    SpecFlag(
        "search-trials", "trainings the auto schedule's search runs", "training.search_trials", int
    ),
    SpecFlag(
        "augment-copies",
        "shifted copies of each training image, labelled by the teacher (image data)",
        "training.augment_copies",
        int,
    ),
    SpecFlag(
        "fp32-fallback",
        "ship fp32 only when the INT8 gate fails",
        convert=lambda _: {"gates.fp32_fallback": True},
        is_switch=True,
    ),
    SpecFlag(
        "min-retention", "student/teacher accuracy gate, e.g. 0.98", "gates.min_retention", float
    ),
)


def parse_spec_args(args: argparse.Namespace) -> pb.DistillSpec:
    """--config, then the flags given, then each --set: one `DistillSpec` message. Bad JSON,
    an unknown field or a bad value raise `SpecError` naming it."""
    tree: dict[str, Any] = {}
    if args.config is not None:
        tree = _read_config(args.config)
    given = vars(args)
    for flag in SPEC_FLAGS:
        key = flag.name.replace("-", "_")
        if key in given:
            for path, value in flag.fields(given[key]).items():
                set_field(tree, path, value, f"--{flag.name}")
    for assignment in given.get("set", []):
        path, sep, raw = assignment.partition("=")
        if not sep:
            raise SpecError("--set", f"expected FIELD=VALUE, got {assignment!r}")
        set_field(tree, path.strip(), raw, "--set", raw=True)
    return parse_tree(tree, "spec")


def parse_tree(tree: dict[str, Any], source: str) -> pb.DistillSpec:
    try:
        return json_format.ParseDict(tree, pb.DistillSpec())
    except json_format.ParseError as e:
        raise SpecError(source, _parse_error(e)) from None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as e:
        raise SpecError("--config", f"cannot read {path}: {e.strerror or e}") from None
    try:
        tree = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError("--config", f"{path} is not JSON: {e}") from None
    if not isinstance(tree, dict):
        raise SpecError("--config", f"{path} must hold a JSON object (a DistillSpec)")
    parse_tree(tree, f"--config {path}")  # unknown fields and bad values name themselves here
    return tree


def _parse_error(error: json_format.ParseError) -> str:
    """protobuf's first line, e.g. 'gates field: Message type "distillbridge.v1.Gates" has no
    field named "minRetentio" at "DistillSpec.gates".' (the next lines list the known ones)."""
    return str(error).replace("Failed to parse ", "").strip().splitlines()[0]


def set_field(tree: dict[str, Any], path: str, value: Any, source: str, raw: bool = False) -> None:
    """Sets `path` (proto field names, snake_case or camelCase, dot-separated) in the JSON
    tree; setting one member of a oneof drops the others. `raw`: `value` is command-line text,
    read for the field it lands in (`_parse_value`)."""
    descriptor: Descriptor = pb.DistillSpec.DESCRIPTOR
    node = tree
    parts = path.split(".")
    for depth, part in enumerate(parts):
        field = _field(descriptor, part, path, source)
        _drop_oneof_siblings(node, field)
        name = field.name
        if field.json_name != name and field.json_name in node:  # one spelling per field
            node[name] = node.pop(field.json_name)
        if depth == len(parts) - 1:
            node[name] = _parse_value(field, value) if raw else value
            return
        if field.message_type is None or field.is_repeated:
            raise SpecError(source, f"{path}: {'.'.join(parts[: depth + 1])} has no fields")
        node = node.setdefault(name, {})
        descriptor = field.message_type


def _field(descriptor: Descriptor, part: str, path: str, source: str) -> FieldDescriptor:
    for field in descriptor.fields:
        if part in (field.name, field.json_name):
            return field
    known = ", ".join(f.name for f in descriptor.fields)
    raise SpecError(source, f"{path}: {descriptor.name} has no field {part!r} (fields: {known})")


def _drop_oneof_siblings(node: dict[str, Any], field: FieldDescriptor) -> None:
    oneof = field.containing_oneof
    if oneof is None or len(oneof.fields) == 1:  # none, or proto3 `optional` (not a choice)
        return
    for sibling in oneof.fields:
        if sibling is not field:
            node.pop(sibling.name, None)
            node.pop(sibling.json_name, None)


def _parse_value(field: FieldDescriptor, raw: str) -> Any:
    """For a repeated scalar field a comma-separated list (or a JSON list); otherwise a JSON
    value when `raw` is one (numbers, true, objects), else the string itself."""
    if field.is_repeated and field.message_type is None and not raw.lstrip().startswith("["):
        return [_scalar(v.strip()) for v in raw.split(",") if v.strip()]
    return _scalar(raw)


def _scalar(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


__all__ = ["SPEC_FLAGS", "SpecFlag", "parse_spec_args", "parse_tree", "set_field"]
