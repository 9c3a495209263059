"""Teachers: where they come from (zoo name, TorchScript file, ONNX file) and one interface to
get their logits. Only logits leave a teacher; the trainer never touches teacher modules."""

from __future__ import annotations

import gc
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from bridge.models.zoo import ZOO, ZooTeacher
from bridge.paths import resolve_under_root, sha256_file
from bridge.spec import Dataset, SpecError

TORCHSCRIPT_SUFFIXES = {".pt", ".pth", ".ts", ".torchscript", ".jit"}
ONNX_SUFFIXES = {".onnx"}


@dataclass(frozen=True)
class TeacherSource:
    """A resolved teacher reference: a zoo entry, or a file of a known kind."""

    reference: str
    zoo: ZooTeacher | None = None
    path: Path | None = None

    @property
    def kind(self) -> str:
        if self.zoo is not None:
            return "zoo"
        assert self.path is not None
        return "onnx" if self.path.suffix.lower() in ONNX_SUFFIXES else "torchscript"


def resolve_teacher(reference: str, dataset: Dataset, data_root: Path | None) -> TeacherSource:
    """Zoo name or file; raises a NOT_FOUND/INVALID `SpecError` naming `teacher.reference`."""
    field = "teacher.reference"
    zoo = ZOO.get(reference)
    if zoo is not None:
        if dataset.name is not None and dataset.name != zoo.dataset:
            raise SpecError(
                field,
                f"zoo teacher {reference!r} is trained on {zoo.dataset!r}, not {dataset.name!r}",
            )
        return TeacherSource(reference, zoo=zoo)
    looks_like_path = "/" in reference or Path(reference).suffix.lower() in (
        TORCHSCRIPT_SUFFIXES | ONNX_SUFFIXES
    )
    if not looks_like_path:
        raise SpecError(
            field,
            f"unknown teacher {reference!r}: not a zoo teacher ({', '.join(sorted(ZOO))}) "
            "and not a file path",
            kind="not_found",
        )
    path = resolve_under_root(reference, data_root, field, must_be_file=True)
    if path.suffix.lower() not in TORCHSCRIPT_SUFFIXES | ONNX_SUFFIXES:
        raise SpecError(
            field, f"{path.name}: expected a TorchScript (.pt, .ts) or ONNX (.onnx) file"
        )
    return TeacherSource(reference, path=path)


class Teacher(ABC):
    """A loaded teacher. `logits` runs under inference mode in batches; `release` frees it."""

    def __init__(self, reference: str, architecture: str, path: Path, parameters: int | None):
        self.reference = reference
        self.architecture = architecture
        self.path = path
        self.parameters = parameters
        self.sha256 = sha256_file(path)
        # An ONNX form of the teacher, when one exists: its size and ORT latency are the
        # baseline the student's are compared with.
        self.onnx_path: Path | None = None

    @abstractmethod
    def _forward(self, x: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def release(self) -> None: ...

    def logits(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        outs = [self._forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        out = np.concatenate(outs).astype(np.float32)
        if out.ndim != 2 or len(out) != len(x):
            raise SpecError(
                "teacher.reference",
                f"teacher must return logits of shape [N, classes]; got {list(out.shape)} "
                f"for {len(x)} inputs",
            )
        return out

    def describe(self) -> dict:
        return {
            "reference": self.reference,
            "architecture": self.architecture,
            "file": self.path.name,
            "sha256": self.sha256,
            "parameters": self.parameters,
        }


class TorchScriptTeacher(Teacher):
    def __init__(self, reference: str, path: Path, architecture: str = "torchscript") -> None:
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated, still the format
                warnings.simplefilter("ignore", FutureWarning)  # users hand us
                self.module = torch.jit.load(str(path), map_location="cpu").eval()
        except Exception as e:  # torch raises many types for a bad archive
            raise SpecError(
                "teacher.reference", f"{path.name} is not a TorchScript file: {e}"
            ) from e
        params = sum(p.numel() for p in self.module.parameters())
        super().__init__(reference, architecture, path, params)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.module(torch.from_numpy(np.ascontiguousarray(x))).float().numpy()

    def release(self) -> None:
        del self.module
        gc.collect()


class OnnxTeacher(Teacher):
    def __init__(self, reference: str, path: Path) -> None:
        try:
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own exception types
            raise SpecError(
                "teacher.reference", f"{path.name} is not a runnable ONNX model: {e}"
            ) from e
        self.input_name = self.session.get_inputs()[0].name
        super().__init__(reference, "onnx", path, onnx_parameter_count(path))
        self.onnx_path = path

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: x.astype(np.float32)})[0]

    def release(self) -> None:
        del self.session
        gc.collect()


def load_teacher_file(source: TeacherSource, architecture: str | None = None) -> Teacher:
    assert source.path is not None
    if source.kind == "onnx":
        return OnnxTeacher(source.reference, source.path)
    return TorchScriptTeacher(source.reference, source.path, architecture or "torchscript")


def onnx_parameter_count(path: Path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return int(sum(np.prod(t.dims) for t in model.graph.initializer))
