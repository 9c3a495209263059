"""Teachers: where they come from (zoo name, packaged encoder, Hugging Face directory,
TorchScript file, ONNX file) and one interface to their outputs. Only arrays leave a teacher
(written to the teacher cache); the trainer never touches teacher modules."""

from __future__ import annotations

import gc
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from bridge.data.features import Features
from bridge.data.tokenize import TOKENIZER_FILE
from bridge.models.text import is_hf_dir, load_hf_classifier, mean_pool
from bridge.models.zoo import ZOO, PretrainedTeacher, ZooTeacher
from bridge.paths import resolve_under_root, sha256_file
from bridge.spec import Dataset, SpecError

TORCHSCRIPT_SUFFIXES = {".pt", ".pth", ".ts", ".torchscript", ".jit"}
ONNX_SUFFIXES = {".onnx"}


@dataclass(frozen=True)
class TeacherSource:
    """A resolved teacher reference: a zoo entry, or a file / model directory."""

    reference: str
    zoo: ZooTeacher | PretrainedTeacher | None = None
    path: Path | None = None
    output: str = ""  # ONNX files: the output the user named ("" = chosen by type and shape)

    @property
    def kind(self) -> str:
        """ "zoo" (trained by the bridge), "pretrained" (packaged encoder), "hf" (a model
        directory), "onnx" or "torchscript"."""
        if isinstance(self.zoo, PretrainedTeacher):
            return "pretrained"
        if self.zoo is not None:
            return "zoo"
        assert self.path is not None
        if self.path.is_dir():
            return "hf"
        return "onnx" if self.path.suffix.lower() in ONNX_SUFFIXES else "torchscript"

    @property
    def is_text(self) -> bool:
        return self.kind in ("pretrained", "hf")

    @property
    def text_directory(self) -> Path:
        """A text teacher's model directory: the packaged encoder's or the user's."""
        directory = self.zoo.locate() if isinstance(self.zoo, PretrainedTeacher) else self.path
        assert self.is_text and directory is not None
        return directory


def resolve_teacher(
    reference: str,
    dataset: Dataset,
    data_root: Path | None,
    modality: str | None = None,
    output: str = "",
) -> TeacherSource:
    """Zoo name, file or Hugging Face directory; raises a NOT_FOUND/INVALID `SpecError` naming
    `teacher.reference`. `modality` (when known) must suit the teacher. A named `output`
    (`teacher.output`) must be one of an ONNX file's outputs that can teach."""
    field = "teacher.reference"
    zoo = ZOO.get(reference)
    if isinstance(zoo, PretrainedTeacher):
        if zoo.locate() is None:
            raise SpecError(
                field,
                f"{reference!r} is not installed on this server (needs the {zoo.source})",
                kind="not_found",
            )
        source = TeacherSource(reference, zoo=zoo)
    elif zoo is not None:
        if dataset.name is not None and dataset.name != zoo.dataset:
            raise SpecError(
                field,
                f"zoo teacher {reference!r} is trained on {zoo.dataset!r}, not {dataset.name!r}",
            )
        source = TeacherSource(reference, zoo=zoo)
    else:
        source = _resolve_path(reference, data_root)
    if modality is not None and source.is_text != (modality == "text"):
        kind = "a text" if source.is_text else "a tabular/image"
        raise SpecError(field, f"{reference!r} is {kind} teacher; the dataset is {modality}")
    return _with_output(source, output) if output else source


_KIND_NAMES = {
    "zoo": "a zoo teacher",
    "pretrained": "a packaged text encoder",
    "hf": "a Hugging Face model directory",
    "torchscript": "a TorchScript file",
}


def _with_output(source: TeacherSource, output: str) -> TeacherSource:
    """`source` with the output the user named, checked against the ONNX graph now (reading
    it once), so a wrong name fails before a job is queued."""
    if source.kind != "onnx":
        raise SpecError(
            "teacher.output",
            f"names an output of an ONNX teacher file; {source.reference!r} is "
            f"{_KIND_NAMES[source.kind]}, whose logits are used as they are",
        )
    assert source.path is not None
    onnx_class_output(source.path, output)
    return TeacherSource(source.reference, path=source.path, output=output)


def resolve_tokenizer_directory(reference: str, data_root: Path | None, field: str) -> Path:
    """A directory with tokenizer.json and config.json, named by a packaged zoo encoder
    (`minilm-l6`) or a path; what a self-distilled text student takes its tokenizer,
    vocabulary and embedding shapes from."""
    zoo = ZOO.get(reference)
    directory = zoo.locate() if isinstance(zoo, PretrainedTeacher) else None
    if directory is None:
        directory = resolve_under_root(reference, data_root, field)
    for needed in (TOKENIZER_FILE, "config.json"):  # vocabulary, and the shapes it implies
        if not (directory / needed).is_file():
            raise SpecError(field, f"{reference!r} has no {needed}")
    return directory


def _resolve_path(reference: str, data_root: Path | None) -> TeacherSource:
    field = "teacher.reference"
    suffixes = TORCHSCRIPT_SUFFIXES | ONNX_SUFFIXES
    if "/" not in reference and Path(reference).suffix.lower() not in suffixes:
        raise SpecError(
            field,
            f"unknown teacher {reference!r}: not a zoo teacher ({', '.join(sorted(ZOO))}) "
            "and not a file path",
            kind="not_found",
        )
    path = resolve_under_root(reference, data_root, field)
    if path.is_dir():
        if not is_hf_dir(path):
            raise SpecError(
                field,
                f"{reference!r} is a directory without config.json and "
                "model weights (not a Hugging Face model)",
            )
        if not (path / TOKENIZER_FILE).is_file():
            raise SpecError(field, f"{reference!r} has no {TOKENIZER_FILE}")
    elif path.suffix.lower() not in suffixes:
        raise SpecError(
            field, f"{path.name}: expected a TorchScript (.pt, .ts) or ONNX (.onnx) file"
        )
    return TeacherSource(reference, path=path)


class Teacher(ABC):
    """A loaded teacher. `outputs` runs under inference mode in batches; `release` frees it."""

    def __init__(
        self,
        reference: str,
        architecture: str,
        path: Path,
        parameters: int | None,
        sha256: str | None = None,
    ) -> None:
        self.reference = reference
        self.architecture = architecture
        self.path = path
        self.parameters = parameters
        self.sha256 = sha256 or sha256_file(path)
        # An ONNX form of the teacher, when one exists: its size and ORT latency are the
        # baseline the student's are compared with.
        self.onnx_path: Path | None = None

    @abstractmethod
    def _forward(
        self, batch: tuple[np.ndarray, ...], request: OutputRequest
    ) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def release(self) -> None: ...

    def forward_batch(
        self, batch: tuple[np.ndarray, ...], request: OutputRequest
    ) -> dict[str, np.ndarray]:
        """One batch's outputs (under inference mode), as `outputs` gives them."""
        return self._forward(batch, request)

    def outputs(
        self, features: Features, request: OutputRequest | None = None, batch_size: int = 256
    ) -> Iterator[tuple[slice, dict[str, np.ndarray]]]:
        """(rows, arrays) per batch: always "logits"; for Transformer teachers also the hidden
        states and attention maps `request` names."""
        request = request or OutputRequest()
        for start in range(0, len(features), batch_size):
            rows = slice(start, min(start + batch_size, len(features)))
            out = self._forward(features.batch(rows), request)
            logits = out["logits"]
            if logits.ndim != 2 or len(logits) != rows.stop - rows.start:
                raise SpecError(
                    "teacher.reference",
                    f"teacher must return logits of shape [N, classes]; got "
                    f"{list(logits.shape)} for {rows.stop - rows.start} inputs",
                )
            yield rows, out

    def describe(self) -> dict:
        return {
            "reference": self.reference,
            "architecture": self.architecture,
            "file": self.path.name,
            "sha256": self.sha256,
            "parameters": self.parameters,
        }


@dataclass(frozen=True)
class OutputRequest:
    """What a Transformer teacher must return besides logits: hidden states (indices into
    hidden_states, 0 = embeddings) and attention maps (0-based layers), optionally with the
    heads averaged (when the student has a different head count)."""

    hidden: tuple[int, ...] = ()
    attention: tuple[int, ...] = ()
    average_heads: bool = False
    pooled: bool = False  # the mean-pooled last hidden state (one vector per sentence)


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

    def _forward(
        self, batch: tuple[np.ndarray, ...], request: OutputRequest
    ) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            return {"logits": self.module(*map(torch.from_numpy, batch)).float().numpy()}

    def release(self) -> None:
        # A TorchScript module is one C++ object without Python cycles: dropping the reference
        # frees it. No gc.collect(): a full collection costs ~0.25 s over torch's heap, which
        # was 85% of a small teacher's whole cache pass (bench/budgets.py, digits).
        del self.module


class OnnxTeacher(Teacher):
    """An ONNX classifier run with ONNX Runtime. Models converted from scikit-learn, LightGBM
    or XGBoost (skl2onnx, onnxmltools) have several outputs, typically `label` [N] and
    probabilities [N, classes] (a tensor, or a ZipMap: one {class: p} map per row): the class
    output is the one the user named (`output`) or is chosen by type and shape
    (`onnx_class_output`), and probabilities become log-probabilities, which the KD loss
    softens like logits (softmax(log p / T) is p sharpened or flattened)."""

    def __init__(self, reference: str, path: Path, output: str = "") -> None:
        self.output = onnx_class_output(path, output)
        try:
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own exception types
            raise SpecError(
                "teacher.reference", f"{path.name} is not a runnable ONNX model: {e}"
            ) from e
        self.input_name = self.session.get_inputs()[0].name
        super().__init__(reference, "onnx", path, onnx_parameter_count(path))
        self.onnx_path = path

    def _forward(
        self, batch: tuple[np.ndarray, ...], request: OutputRequest
    ) -> dict[str, np.ndarray]:
        (raw,) = self.session.run([self.output.name], {self.input_name: batch[0]})
        values = zipmap_to_array(raw) if isinstance(raw, list) else np.asarray(raw, np.float32)
        if self.output.probabilities:
            values = np.log(np.clip(values, 1e-7, 1.0))
        return {"logits": values}

    def describe(self) -> dict:
        return {**super().describe(), **self.output.describe()}

    def release(self) -> None:
        del self.session  # a native session: freed when its last reference goes, as above


@dataclass(frozen=True)
class ClassOutput:
    """The output of an ONNX teacher that scores every class, and how its values are read."""

    name: str
    probabilities: bool  # a ZipMap, or named so (`probabilities`, `output_probability`)
    chosen_by: str = "shape"  # "user" (teacher.output) or "shape" (`onnx_class_output`)

    def describe(self) -> dict:
        used_as = "log of probabilities" if self.probabilities else "logits"
        return {"output": self.name, "output_used_as": used_as, "output_chosen_by": self.chosen_by}


def onnx_class_output(path: Path, name: str = "") -> ClassOutput:
    """The output `name` when the user named one (`named_output`); otherwise a float tensor
    output of rank 2 (one named logits first), else a ZipMap (a sequence of maps), else a
    single float output of unknown shape (its rank is checked on every batch). A model with
    only a `label` output cannot teach: refused naming its outputs."""
    try:
        outputs = onnx.load(str(path), load_external_data=False).graph.output
    except Exception as e:  # onnx raises DecodeError and others
        raise SpecError("teacher.reference", f"{path.name} is not an ONNX model: {e}") from e
    if name:
        return named_output(path, list(outputs), name)
    floats = [o for o in outputs if o.type.tensor_type.elem_type in _FLOAT_TYPES]
    ranked = sorted(
        (o for o in floats if len(o.type.tensor_type.shape.dim) == 2),
        key=lambda o: "logit" not in o.name.lower(),
    )
    maps = [o for o in outputs if o.type.HasField("sequence_type")]
    if ranked:
        return ClassOutput(ranked[0].name, "prob" in ranked[0].name.lower())
    if maps:
        return ClassOutput(maps[0].name, True)
    if len(outputs) == 1 and floats:
        return ClassOutput(floats[0].name, "prob" in floats[0].name.lower())
    found = ", ".join(o.name for o in outputs)
    raise SpecError(
        "teacher.reference",
        f"{path.name} has no output that scores every class (a float [N, classes] tensor or a "
        f"ZipMap of class probabilities); its outputs: {found}",
    )


_FLOAT_TYPES = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16)


def named_output(path: Path, outputs: list[onnx.ValueInfoProto], name: str) -> ClassOutput:
    """The output the user named (`teacher.output`). How its values are read follows the same
    rule as the automatic choice: a ZipMap, or a float tensor whose name contains "prob", holds
    probabilities; any other float tensor is read as logits. An output that cannot score every
    class (class ids such as `label` [N], or a float tensor of another rank) is refused."""
    listed = ", ".join(o.name for o in outputs)
    found = next((o for o in outputs if o.name == name), None)
    if found is None:
        raise SpecError(
            "teacher.output", f"{path.name} has no output {name!r}; its outputs: {listed}"
        )
    value = found.type.WhichOneof("value")
    if value == "sequence_type":  # as for the automatic choice: a ZipMap of probabilities
        return ClassOutput(name, True, "user")
    what = f"a {(value or 'untyped').removesuffix('_type')} value"
    if value == "tensor_type":
        tensor = found.type.tensor_type
        rank = len(tensor.shape.dim) if tensor.HasField("shape") else None  # None: undeclared
        if tensor.elem_type in _FLOAT_TYPES and rank in (2, None):
            return ClassOutput(name, "prob" in name.lower(), "user")
        dtype = onnx.TensorProto.DataType.Name(tensor.elem_type).lower()
        what = f"a tensor of {dtype}" + (f", rank {rank}" if rank is not None else "")
    raise SpecError(
        "teacher.output",
        f"{path.name}: output {name!r} is {what}, which cannot teach; name an output that "
        "scores every class (a float [N, classes] tensor or a ZipMap of class "
        f"probabilities); its outputs: {listed}",
    )


def zipmap_to_array(rows: list[dict]) -> np.ndarray:
    """ZipMap output (one {class: probability} per row) -> [N, classes], classes in key order
    (the order scikit-learn's `classes_` has, and the label order of a sorted dataset)."""
    keys = sorted(rows[0]) if rows else []
    return np.array([[row[k] for k in keys] for row in rows], dtype=np.float32)


class HfTeacher(Teacher):
    """A Hugging Face sequence classifier (prepared by bridge.teacher_prep when needed)."""

    def __init__(self, reference: str, directory: Path, num_labels: int, sha256: str) -> None:
        self.model = load_hf_classifier(directory, num_labels)
        params = sum(p.numel() for p in self.model.parameters())
        super().__init__(reference, "transformer", directory, params, sha256)
        self.tokenizer_file = directory / TOKENIZER_FILE
        self.num_layers = self.model.config.num_hidden_layers
        self.num_heads = self.model.config.num_attention_heads
        self.hidden_size = self.model.config.hidden_size

    def _forward(
        self, batch: tuple[np.ndarray, ...], request: OutputRequest
    ) -> dict[str, np.ndarray]:
        ids, mask = (torch.from_numpy(a) for a in batch)
        with torch.inference_mode():
            if not (request.hidden or request.attention or request.pooled):
                return {"logits": self.model(ids, mask).numpy()}
            logits, hidden, attention = self.model.forward_features(
                ids, mask, attentions=bool(request.attention)
            )
        out = {"logits": logits.numpy()}
        if request.pooled:
            out["pooled"] = mean_pool(hidden[-1], mask).half().numpy()
        for i in request.hidden:
            out[f"hidden_{i}"] = hidden[i].half().numpy()
        for i in request.attention:
            maps = attention[i].mean(dim=1, keepdim=True) if request.average_heads else attention[i]
            out[f"attention_{i}"] = maps.half().numpy()
        return out

    def release(self) -> None:
        del self.model
        gc.collect()


def load_teacher_file(source: TeacherSource, architecture: str | None = None) -> Teacher:
    assert source.path is not None
    if source.kind == "onnx":
        return OnnxTeacher(source.reference, source.path, source.output)
    return TorchScriptTeacher(source.reference, source.path, architecture or "torchscript")


def onnx_parameter_count(path: Path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return int(sum(np.prod(t.dims) for t in model.graph.initializer))
