"""Compact teacher feature targets: only what the losses read, quantized.

The feature losses only read real tokens (`masked_mse` weighs padded tokens 0; `attention_kl`
sums over real queries, and the teacher gives padded keys probability 0), so each row keeps its
own `l` real tokens instead of the split's padded width:

- hidden states [l, H]: int8 with one fp16 scale per token (absmax / 127): the error of an
  element is at most half a step, |x| max of its token / 254;
- attention maps [heads, l, l]: uint8 with one fp16 scale per query row (row max / 255): at most
  row max / 510 per probability (rows then sum to 1 within l x that).

A feature array is two flat files, values (`.q.bin`) and scales (`.s.bin`), rows back to back;
a split's `lengths.npy` gives every row's `l`, so offsets need no index file. Reads go through a
memory map when the whole cache may be resident, else through pread (only the batch resident).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from torch import Tensor

LAYOUT_FILE = "layout.json"
HIDDEN_STEPS = 127.0
ATTENTION_STEPS = 255.0


def encode_hidden(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[..., H] float -> (int8 values, fp16 scale per vector)."""
    x = x.astype(np.float32)
    scale = np.abs(x).max(axis=-1) / HIDDEN_STEPS
    scale = scale.astype(np.float16).astype(np.float32)  # quantize against the stored scale
    safe = np.where(scale > 0, scale, 1.0)[..., None]
    q = np.clip(np.rint(x / safe), -HIDDEN_STEPS, HIDDEN_STEPS).astype(np.int8)
    return q, scale.astype(np.float16)


def decode_hidden(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) * scale.astype(np.float32)[..., None]


def encode_attention(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[..., keys] probabilities -> (uint8 values, fp16 scale per row: row max / 255)."""
    p = np.clip(p.astype(np.float32), 0.0, None)
    scale = (p.max(axis=-1) / ATTENTION_STEPS).astype(np.float16).astype(np.float32)
    safe = np.where(scale > 0, scale, 1.0)[..., None]
    q = np.clip(np.rint(p / safe), 0, ATTENTION_STEPS).astype(np.uint8)
    return q, scale.astype(np.float16)


def decode_attention(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    # Not renormalized: that would spread the rounding of every key over the whole row (4x
    # the per-probability error on 10-token rows); the KL term does not need exact sums.
    return q.astype(np.float32) * scale.astype(np.float32)[..., None]


@dataclass(frozen=True)
class ArraySpec:
    """One feature array: `hidden` [l, width] or `attention` [heads, l, l] per row."""

    kind: str
    size: int  # hidden: width H; attention: heads

    def values(self, length: np.ndarray) -> np.ndarray:
        return length * self.size if self.kind == "hidden" else self.size * length * length

    def scales(self, length: np.ndarray) -> np.ndarray:
        return length if self.kind == "hidden" else self.size * length

    def row_bytes(self, length: np.ndarray) -> np.ndarray:
        return self.values(length) + 2 * self.scales(length)


def compact_bytes(specs: dict[str, ArraySpec], lengths: np.ndarray) -> int:
    lengths = lengths.astype(np.int64)
    return int(sum(s.row_bytes(lengths).sum() for s in specs.values())) + 4 * len(lengths)


class CompactWriter:
    """Appends rows, in order, to one split's compact files; each array's spec is read off its
    first batch."""

    def __init__(self, directory: Path, split: str) -> None:
        self.directory, self.split = directory, split
        self.specs: dict[str, ArraySpec] = {}
        self._files: dict[tuple[str, str], BinaryIO] = {}
        self._lengths: list[np.ndarray] = []

    def write(self, name: str, value: np.ndarray, lengths: np.ndarray) -> None:
        """A batch of one array, padded to the batch's width; row r keeps `lengths[r]` tokens."""
        if name not in self.specs:
            hidden = name.startswith("hidden_")
            self.specs[name] = ArraySpec(
                "hidden" if hidden else "attention", value.shape[-1 if hidden else 1]
            )
            for part in ("q", "s"):
                path = self.directory / f"{self.split}.{name}.{part}.bin"
                self._files[name, part] = path.open("wb")
        spec = self.specs[name]
        encode = encode_hidden if spec.kind == "hidden" else encode_attention
        q, s = encode(value)
        for r, n in enumerate(lengths):
            if spec.kind == "hidden":
                rq, rs = q[r, :n], s[r, :n]
            else:
                rq, rs = q[r, :, :n, :n], s[r, :, :n]
            self._files[name, "q"].write(np.ascontiguousarray(rq).tobytes())
            self._files[name, "s"].write(np.ascontiguousarray(rs).tobytes())

    def add_lengths(self, lengths: np.ndarray) -> None:
        self._lengths.append(lengths.astype(np.int32))

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int32)
        np.save(self.directory / f"{self.split}.lengths.npy", lengths)
        layout = {n: {"kind": s.kind, "size": s.size} for n, s in self.specs.items()}
        (self.directory / f"{self.split}.{LAYOUT_FILE}").write_text(json.dumps(layout))


class _Bytes:
    """A flat file read by (offset, count): from a memory map, or with pread."""

    def __init__(self, path: Path, dtype: np.dtype, mapped: bool) -> None:
        self.path, self.dtype, self.mapped = path, np.dtype(dtype), mapped
        self._map: np.ndarray | None = None
        self._fd: int | None = None

    def get(self, offset: int, count: int) -> np.ndarray:
        if self.mapped:
            if self._map is None:
                self._map = np.memmap(self.path, self.dtype, mode="r")
            return np.array(self._map[offset : offset + count])
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        size = self.dtype.itemsize
        return np.frombuffer(os.pread(self._fd, count * size, offset * size), self.dtype)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._map = None, None

    def __getstate__(self) -> dict:  # a DDP worker opens its own
        return {"path": self.path, "dtype": self.dtype, "mapped": self.mapped}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["dtype"], state["mapped"])  # type: ignore[misc]


class CompactReader:
    """A split's compact feature targets, decoded per batch to dense float tensors."""

    def __init__(self, directory: Path, split: str, mapped: bool) -> None:
        layout = json.loads((directory / f"{split}.{LAYOUT_FILE}").read_text())
        self.specs = {n: ArraySpec(v["kind"], v["size"]) for n, v in layout.items()}
        self.lengths = np.load(directory / f"{split}.lengths.npy").astype(np.int64)
        self.mapped = mapped
        self._offsets = {}
        self._files = {}
        for name, spec in self.specs.items():
            dtype = np.int8 if spec.kind == "hidden" else np.uint8
            self._offsets[name] = (
                _starts(spec.values(self.lengths)),
                _starts(spec.scales(self.lengths)),
            )
            self._files[name] = (
                _Bytes(directory / f"{split}.{name}.q.bin", dtype, mapped),
                _Bytes(directory / f"{split}.{name}.s.bin", np.float16, mapped),
            )

    def read(self, idx: np.ndarray, width: int) -> tuple[dict[int, Tensor], dict[int, Tensor]]:
        """Every cached layer for rows `idx`, zero-padded (or trimmed) to `width` tokens."""
        hidden, attention = {}, {}
        for name, spec in self.specs.items():
            layer = int(name.split("_")[1])
            target = hidden if spec.kind == "hidden" else attention
            target[layer] = self._dense(name, idx, width)
        return hidden, attention

    def _dense(self, name: str, idx: np.ndarray, width: int) -> Tensor:
        spec = self.specs[name]
        values, scales = self._files[name]
        starts_q, starts_s = self._offsets[name]
        if spec.kind == "hidden":
            out = np.zeros((len(idx), width, spec.size), np.float32)
        else:
            out = np.zeros((len(idx), spec.size, width, width), np.float32)
        for r, i in enumerate(idx):
            n = int(self.lengths[i])
            q = values.get(int(starts_q[i]), int(spec.values(np.int64(n))))
            s = scales.get(int(starts_s[i]), int(spec.scales(np.int64(n))))
            k = min(n, width)
            if spec.kind == "hidden":
                out[r, :k] = decode_hidden(q.reshape(n, spec.size), s)[:k]
            else:
                shaped = q.reshape(spec.size, n, n)
                out[r, :, :k, :k] = decode_attention(shaped, s.reshape(spec.size, n))[:, :k, :k]
        return torch.from_numpy(out)

    def close(self) -> None:
        for pair in self._files.values():
            for f in pair:
                f.close()


def _starts(per_row: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(per_row)[:-1]]).astype(np.int64)
