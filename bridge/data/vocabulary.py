"""Vocabulary pruning for Transformer text students (`TransformerConfig.prune_vocabulary`).

A student that reads the teacher's whole WordPiece vocabulary (30,522 tokens for MiniLM) spends
most of its weights on an embedding table whose rows the task never uses. Pruning keeps the
tokens the teacher's tokenizer produces on the TRAINING split (never validation or test), plus
every token the tokenizer declares (added / special tokens: [PAD], [UNK], [CLS], [SEP], [MASK],
and the post-processor's), renumbered in their original order, and rewrites `tokenizer.json` for
them. Any other word becomes [UNK], as WordPiece does for a word it cannot piece together.

Why the teacher's outputs stay aligned: WordPiece is greedy longest-match-first, word by word.
Every piece the full tokenizer chose on a training text is kept, and a pruned vocabulary is a
subset of the full one, so at every step the longest kept match is the very piece the full
tokenizer chose: on every training text the pruned tokenizer gives the same tokens, renumbered
(`check_aligned` asserts it for each job). The kept set is taken from untruncated encodings, so
truncation cannot cut a word whose later pieces were never seen.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from bridge.data.features import Features
from bridge.errors import DistillError
from bridge.spec import SpecError

FIELD = "student.transformer.prune_vocabulary"


@dataclass(frozen=True)
class PrunedVocabulary:
    """The teacher token ids a student keeps: student id i is teacher id `kept[i]`."""

    kept: tuple[int, ...]  # ascending teacher ids
    teacher_size: int  # the teacher tokenizer's vocabulary, added tokens included

    @property
    def size(self) -> int:
        return len(self.kept)

    def to_student(self) -> np.ndarray:
        """[teacher_size] int64: the student id of each teacher id, -1 where it was pruned."""
        table = np.full(self.teacher_size, -1, dtype=np.int64)
        table[np.asarray(self.kept, dtype=np.int64)] = np.arange(self.size, dtype=np.int64)
        return table

    def student_ids(self, teacher_ids: np.ndarray) -> np.ndarray:
        """Teacher ids renumbered for the student; a pruned id raises (it cannot be mapped)."""
        ids = self.to_student()[teacher_ids]
        if (ids < 0).any():
            raise DistillError(f"token id {int(teacher_ids[ids < 0][0])} is not in the vocabulary")
        return ids

    def describe(self) -> dict:
        """The manifest's `tokenizer.vocabulary` block (less the validation measure)."""
        return {"pruned": True, "size": self.size, "teacher_size": self.teacher_size}


def training_vocabulary(tokenizer_file: Path, texts: Sequence[str]) -> PrunedVocabulary:
    """Every token the tokenizer produces on `texts` (untruncated), plus its declared tokens."""
    config = _wordpiece_config(tokenizer_file)
    declared = set(_post_processor_ids(config.get("post_processor")))
    declared.update(int(t["id"]) for t in config.get("added_tokens") or [])
    declared.add(int(config["model"]["vocab"][config["model"]["unk_token"]]))
    padding = config.get("padding") or {}
    if "pad_id" in padding:
        declared.add(int(padding["pad_id"]))
    tokenizer = _plain(tokenizer_file)
    used: set[int] = set()
    for encoding in tokenizer.encode_batch([str(t) for t in texts], add_special_tokens=False):
        used.update(encoding.ids)
    return PrunedVocabulary(tuple(sorted(used | declared)), tokenizer.get_vocab_size(True))


def pruned_tokenizer_config(tokenizer_file: Path, vocabulary: PrunedVocabulary) -> dict:
    """The tokenizer.json for `vocabulary`: the WordPiece vocabulary, added tokens, the
    post-processor's special-token ids and the padding id, renumbered; all else unchanged."""
    config = copy.deepcopy(_wordpiece_config(tokenizer_file))
    table = vocabulary.to_student()

    def new_id(old: int) -> int:
        if not 0 <= old < len(table) or table[old] < 0:
            raise DistillError(f"tokenizer.json: id {old} was pruned but is needed")
        return int(table[old])

    model = config["model"]
    kept = {token: int(table[i]) for token, i in model["vocab"].items() if table[i] >= 0}
    model["vocab"] = dict(sorted(kept.items(), key=lambda item: item[1]))
    for token in config.get("added_tokens") or []:
        token["id"] = new_id(int(token["id"]))
    processor = config.get("post_processor") or {}
    if processor.get("type") == "TemplateProcessing":
        for special in processor["special_tokens"].values():
            special["ids"] = [new_id(int(i)) for i in special["ids"]]
    elif processor.get("type") == "BertProcessing":
        for key in ("cls", "sep"):
            processor[key][1] = new_id(int(processor[key][1]))
    padding = config.get("padding") or {}
    if "pad_id" in padding:
        padding["pad_id"] = new_id(int(padding["pad_id"]))
    return config


def write_pruned_tokenizer(tokenizer_file: Path, vocabulary: PrunedVocabulary, out: Path) -> Path:
    """Writes the pruned tokenizer.json to `out` and proves Python's tokenizers loads it."""
    config = pruned_tokenizer_config(tokenizer_file, vocabulary)
    out.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    loaded = Tokenizer.from_file(str(out))
    if loaded.get_vocab_size(True) != vocabulary.size:
        raise DistillError(
            f"the pruned tokenizer has {loaded.get_vocab_size(True)} tokens, "
            f"expected {vocabulary.size}"
        )
    return out


def check_aligned(teacher: Features, student: Features, vocabulary: PrunedVocabulary) -> None:
    """The training split as the student reads it must be the teacher's, token for token
    (renumbered), or cached hidden states and attention maps would sit at wrong positions."""
    t_ids, t_mask = teacher.arrays
    s_ids, s_mask = student.arrays
    if t_ids.shape != s_ids.shape or not np.array_equal(t_mask, s_mask):
        raise DistillError(
            "vocabulary pruning changed the training split's token counts; the teacher's "
            f"outputs would not line up ({FIELD}=false avoids pruning)"
        )
    real = t_mask.astype(bool)
    if not np.array_equal(vocabulary.student_ids(t_ids[real]), s_ids[real]):
        raise DistillError(
            "vocabulary pruning changed training-split tokens; the teacher's outputs would not "
            f"line up ({FIELD}=false avoids pruning)"
        )


@dataclass(frozen=True)
class Coverage:
    """What pruning costs on texts the vocabulary was not taken from (the validation split),
    counted on untruncated encodings without [CLS]/[SEP]."""

    unseen_pct: float  # of the teacher's tokens: outside the kept vocabulary (word re-pieced)
    new_unknown_pct: float  # of the student's tokens: [UNK] where the teacher knew the word

    def describe(self) -> dict:
        return {"val_unseen_pct": self.unseen_pct, "val_oov_pct": self.new_unknown_pct}


def validation_coverage(
    full_file: Path, pruned_file: Path, vocabulary: PrunedVocabulary, texts: Sequence[str]
) -> Coverage:
    """A word whose pieces were all kept is tokenized as before; otherwise WordPiece pieces it
    together from shorter kept pieces or, when it cannot, gives one [UNK] for it. A word the
    full vocabulary cannot piece together is [UNK] under a subset of it too, so the [UNK]s
    pruning adds are the pruned count minus the full one."""
    unk_token = _wordpiece_config(full_file)["model"]["unk_token"]
    full_ids, unk_full = _ids(full_file, texts, unk_token)
    pruned_ids, unk_pruned = _ids(pruned_file, texts, unk_token)
    unseen = int((vocabulary.to_student()[full_ids] < 0).sum())
    return Coverage(
        unseen_pct=100.0 * unseen / max(len(full_ids), 1),
        new_unknown_pct=100.0 * (unk_pruned - unk_full) / max(len(pruned_ids), 1),
    )


def _ids(tokenizer_file: Path, texts: Sequence[str], unk_token: str) -> tuple[np.ndarray, int]:
    """All token ids of `texts` (untruncated, no [CLS]/[SEP]) and how many are `unk_token`."""
    tokenizer = _plain(tokenizer_file)
    encodings = tokenizer.encode_batch([str(t) for t in texts], add_special_tokens=False)
    ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64)
    return ids, int((ids == tokenizer.token_to_id(unk_token)).sum())


def _plain(tokenizer_file: Path) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _wordpiece_config(tokenizer_file: Path) -> dict:
    config = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    model = config.get("model") or {}
    if model.get("type") != "WordPiece" or not isinstance(model.get("vocab"), dict):
        raise SpecError(
            FIELD,
            f"only a WordPiece tokenizer can be pruned; {tokenizer_file.parent.name}'s "
            f"tokenizer.json has a {model.get('type')!r} model (set {FIELD}=false)",
        )
    return config


def _post_processor_ids(processor: dict | None) -> list[int]:
    """The ids the post-processor adds around every text ([CLS], [SEP])."""
    if not processor:
        return []
    if processor.get("type") == "TemplateProcessing":
        return [int(i) for s in processor["special_tokens"].values() for i in s["ids"]]
    if processor.get("type") == "BertProcessing":
        return [int(processor["cls"][1]), int(processor["sep"][1])]
    raise SpecError(
        FIELD,
        f"cannot renumber a {processor.get('type')!r} post-processor (set {FIELD}=false)",
    )


__all__ = [
    "Coverage",
    "PrunedVocabulary",
    "check_aligned",
    "validation_coverage",
    "pruned_tokenizer_config",
    "training_vocabulary",
    "write_pruned_tokenizer",
]
