"""The in-memory dataset every later step consumes, and the seeded split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

# Built-in datasets are always split with this seed, independent of the job's training seed,
# so a cached zoo teacher never saw the test rows a later job scores on.
SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    # float32 [N, *input_shape] raw (un-normalised) values; for text, an object array of str
    x: np.ndarray
    y: np.ndarray  # int64, [N]; -1 where a text dataset has no label

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class LoadedDataset:
    name: str
    modality: str  # "tabular" | "image" | "text"
    labels: list[str]
    train: Split
    val: Split
    test: Split
    feature_names: list[str] | None = None
    description: str = ""
    fingerprint: str = field(default="", compare=False)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    @property
    def labeled(self) -> bool:
        """False for unlabeled text: distillation from soft labels alone."""
        return bool((self.train.y >= 0).any())

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def normalization(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std from the training split: per feature for tables, one scalar per
        channel for images. Baked into every exported graph, so callers feed raw values."""
        x = self.train.x.astype(np.float64)
        if self.modality == "image":
            axes = (0, 2, 3)
            mean = x.mean(axis=axes).reshape(-1, 1, 1)
            std = x.std(axis=axes).reshape(-1, 1, 1)
        else:
            mean, std = x.mean(axis=0), x.std(axis=0)
        std = np.where(std < 1e-6, 1.0, std)  # constant features pass through unscaled
        return mean.astype(np.float32), std.astype(np.float32)


def split_dataset(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    labels: list[str],
    modality: str,
    *,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    feature_names: list[str] | None = None,
    description: str = "",
) -> LoadedDataset:
    """Stratified, seeded train/validation/test split (test taken from `test` when the source
    ships an official one)."""
    x = (
        np.asarray(x, dtype=object)
        if modality == "text"
        else np.ascontiguousarray(x, dtype=np.float32)
    )
    y = np.ascontiguousarray(y, dtype=np.int64)
    rng = np.random.default_rng(SPLIT_SEED)
    if test is None:
        rest, test_idx = _stratified_cut(y, test_fraction, rng)
        test_split = Split(x[test_idx], y[test_idx])
        x, y = x[rest], y[rest]
    else:
        test_split = Split(
            np.asarray(test[0], dtype=x.dtype), np.ascontiguousarray(test[1], dtype=np.int64)
        )
    train_idx, val_idx = _stratified_cut(y, val_fraction / (1 - test_fraction), rng)
    ds = LoadedDataset(
        name=name,
        modality=modality,
        labels=labels,
        train=Split(x[train_idx], y[train_idx]),
        val=Split(x[val_idx], y[val_idx]),
        test=test_split,
        feature_names=feature_names,
        description=description,
    )
    return _with_fingerprint(ds)


def _stratified_cut(
    y: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    keep, cut = [], []
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n_cut = int(round(len(idx) * fraction))
        if len(idx) >= 2:
            n_cut = min(max(n_cut, 1), len(idx) - 1)
        cut.append(idx[:n_cut])
        keep.append(idx[n_cut:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(cut))


def _with_fingerprint(ds: LoadedDataset) -> LoadedDataset:
    h = hashlib.sha256()
    for part in (ds.train, ds.val, ds.test):
        if part.x.dtype == object:
            h.update("\x1e".join(part.x.tolist()).encode())
        else:
            h.update(part.x.tobytes())
        h.update(part.y.tobytes())
    h.update("\x1f".join(ds.labels).encode())
    object.__setattr__(ds, "fingerprint", h.hexdigest())
    return ds
