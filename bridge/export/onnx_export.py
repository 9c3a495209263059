"""PyTorch -> ONNX with the dynamo exporter: opset 18, dynamic batch axis, one file."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from bridge.errors import DistillError

OPSET = 18
INPUT_NAME = "input"
OUTPUT_NAME = "logits"


class _Exportable(nn.Module):
    """Names the forward argument `input`, so dynamic shapes and the graph input agree."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - the graph's name
        return self.model(input)


def export_onnx(model: nn.Module, example: np.ndarray, path: Path) -> Path:
    """Exports `model` (put in eval mode here: the module actually exported) for inputs shaped
    like `example` with a dynamic batch, checks it with `onnx.checker`, returns `path`."""
    wrapper = _Exportable(model).eval()
    model.eval()
    sample = torch.from_numpy(np.ascontiguousarray(example[:2] if len(example) > 1 else example))
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    try:
        with _quiet_exporter():
            torch.onnx.export(
                wrapper,
                (sample,),
                str(path),
                dynamo=True,
                opset_version=OPSET,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes={"input": {0: batch}},
                external_data=False,
                optimize=True,
            )
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as e:  # exporter errors come in many types; the reason is what matters
        raise DistillError(f"ONNX export failed: {type(e).__name__}: {str(e)[:2000]}") from e
    return path


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
