"""Tokenization with a Hugging Face `tokenizer.json`: the teacher's, or for a Transformer student
with `prune_vocabulary` its pruned copy (bridge.data.vocabulary). The student's file travels in
the artifact, and Java reproduces its ids exactly (docs/ARTIFACT.md, "Text models")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from bridge.data._dataset import Split
from bridge.data.features import TEXT_INPUTS, Features

TOKENIZER_FILE = "tokenizer.json"


class TextEncoder:
    """Token ids and masks for texts, truncated to `max_length` ([CLS] and [SEP] included).
    `vocabulary`: what the manifest says about a student's vocabulary (`tokenizer.vocabulary`:
    pruned or not, its size, the teacher's); None for the teacher's own encoder, whose
    `manifest_block` also keys the teacher-output cache."""

    def __init__(
        self, tokenizer_file: Path, max_length: int, vocabulary: dict | None = None
    ) -> None:
        self.path = tokenizer_file
        self.max_length = max_length
        self.vocabulary = vocabulary
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        config = json.loads(tokenizer_file.read_text())
        self._normalizer = config.get("normalizer") or {}
        self.pad_token = "[PAD]"
        self.pad_id = self.tokenizer.token_to_id(self.pad_token) or 0

    def encode(self, texts: list[str] | np.ndarray) -> Features:
        """Ids and mask for every text, padded with pad_id to the longest of them."""
        encodings = self.tokenizer.encode_batch([str(t) for t in texts])
        longest = max((len(e.ids) for e in encodings), default=1)
        ids = np.full((len(encodings), longest), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), longest), dtype=np.int64)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        return Features(TEXT_INPUTS, (ids, mask))

    def encode_split(self, split: Split) -> Features:
        return self.encode(split.x)

    def manifest_block(self) -> dict:
        lowercase = bool(self._normalizer.get("lowercase", False))
        strip = self._normalizer.get("strip_accents")
        block = {
            "file": TOKENIZER_FILE,
            "type": "wordpiece",
            "max_length": self.max_length,
            "lowercase": lowercase,
            "strip_accents": lowercase if strip is None else bool(strip),
            "pad_id": self.pad_id,
            "pad_token": self.pad_token,
            "unk_token": "[UNK]",
            "cls_token": "[CLS]",
            "sep_token": "[SEP]",
            "padding": "longest",
        }
        if self.vocabulary is not None:
            block["vocabulary"] = self.vocabulary
        return block
