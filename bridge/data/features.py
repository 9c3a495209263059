"""Model inputs for one split: one array per graph input, first axis = sample. Tabular and
image splits have one float input; text has token ids and an attention mask, stored padded to
the longest sequence and trimmed per batch to that batch's longest (about half the compute of
padding to max_length)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.data._dataset import Split

FLOAT_INPUT = "input"
TEXT_INPUTS = ("input_ids", "attention_mask")


@dataclass(frozen=True)
class Features:
    names: tuple[str, ...]
    arrays: tuple[np.ndarray, ...]

    @property
    def is_text(self) -> bool:
        return self.names == TEXT_INPUTS

    def __len__(self) -> int:
        return len(self.arrays[0])

    def batch(self, idx: np.ndarray | slice) -> tuple[np.ndarray, ...]:
        """The rows `idx`; for text, without the padding columns no row in it uses."""
        rows = tuple(np.ascontiguousarray(a[idx]) for a in self.arrays)
        if not self.is_text:
            return rows
        longest = max(1, int(rows[1].sum(axis=1).max())) if len(rows[1]) else 1
        return tuple(np.ascontiguousarray(r[:, :longest]) for r in rows)

    def feed(self, idx: np.ndarray | slice) -> dict[str, np.ndarray]:
        """An ONNX Runtime input dict for rows `idx`."""
        return dict(zip(self.names, self.batch(idx), strict=True))

    def head(self, n: int) -> Features:
        return Features(self.names, tuple(a[:n] for a in self.arrays))


def float_features(split: Split) -> Features:
    return Features((FLOAT_INPUT,), (split.x,))
