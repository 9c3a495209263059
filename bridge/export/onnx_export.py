"""PyTorch -> ONNX with the dynamo exporter: opset 18, dynamic batch axis, one file."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

from bridge.data.features import Features
from bridge.errors import DistillError

OPSET = 18
OUTPUT_NAME = "logits"


class _Exportable(nn.Module):
    """Names the forward arguments after the graph inputs, so dynamic shapes and graph input
    names agree (`input`, or `input_ids` + `attention_mask` for text)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model


class _FloatInput(_Exportable):
    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - the graph's name
        return self.model(input)


class _TextInputs(_Exportable):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids, attention_mask)


def export_onnx(model: nn.Module, example: Features, path: Path) -> Path:
    """Exports `model` (put in eval mode here: the module actually exported) for inputs like
    `example`, with a dynamic batch (and sequence, for text) axis; checks it with
    `onnx.checker`; returns `path`."""
    model.eval()
    wrapper = (_TextInputs if example.is_text else _FloatInput)(model).eval()
    sample = tuple(torch.from_numpy(a) for a in example.batch(_example_rows(example)))
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    if example.is_text:
        seq = torch.export.Dim("sequence", min=1, max=max(2, example.arrays[0].shape[1]) * 8)
        dynamic = {name: {0: batch, 1: seq} for name in example.names}
    else:
        dynamic = {example.names[0]: {0: batch}}
    try:
        with _quiet_exporter():
            torch.onnx.export(
                wrapper,
                sample,
                str(path),
                dynamo=True,
                opset_version=OPSET,
                input_names=list(example.names),
                output_names=[OUTPUT_NAME],
                dynamic_shapes=dynamic,
                external_data=False,
                optimize=True,
            )
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as e:  # exporter errors come in many types; the reason is what matters
        raise DistillError(f"ONNX export failed: {type(e).__name__}: {str(e)[:2000]}") from e
    return path


def _example_rows(example: Features) -> slice:
    """Two or more rows, so the exporter does not specialise the batch axis to 1; for text,
    rows whose longest sequence exceeds 1 for the same reason."""
    rows = slice(0, min(len(example), 4))
    if example.is_text and example.batch(rows)[0].shape[1] < 2:
        longest = int(example.arrays[1].sum(axis=1).argmax())
        rows = slice(max(0, longest - 1), longest + 1)
    return rows


def embed_metadata(path: Path, facts: dict[str, object]) -> None:
    """Writes `facts` into the model's metadata_props (strings; non-strings as JSON), so ONNX
    Runtime's getCustomMetadata() sees them without reading manifest.json."""
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in facts.items():
        entry = model.metadata_props.add()
        entry.key = key
        entry.value = value if isinstance(value, str) else json.dumps(value)
    onnx.save(model, str(path))


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter prints progress and registry warnings to stdout/logging; job logs carry
    our own messages instead."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch._dynamo", "torch.export")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
