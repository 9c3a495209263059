"""Datasets: built-in catalogue, user files under a data root, the seeded split."""

from __future__ import annotations

from pathlib import Path

from bridge.data._dataset import SPLIT_SEED, LoadedDataset, Split
from bridge.data.builtin import BUILTIN_DATASETS, BuiltinDataset
from bridge.data.files import load_file
from bridge.paths import resolve_under_root
from bridge.spec import Dataset, SpecError

__all__ = [
    "BUILTIN_DATASETS",
    "SPLIT_SEED",
    "BuiltinDataset",
    "LoadedDataset",
    "Split",
    "check_dataset",
    "load_dataset",
]


def check_dataset(ref: Dataset, data_root: Path | None) -> None:
    """Cheap existence check (no loading): NOT_FOUND-kind `SpecError` when missing."""
    if ref.name is not None:
        entry = BUILTIN_DATASETS.get(ref.name)
        if entry is None:
            raise SpecError(
                "dataset.builtin",
                f"unknown dataset {ref.name!r}; built-in: {', '.join(sorted(BUILTIN_DATASETS))}",
                kind="not_found",
            )
        if not entry.available:
            raise SpecError(
                "dataset.builtin",
                f"{ref.name!r} is not installed on this server (needs the {entry.source})",
                kind="not_found",
            )
    else:
        resolve_under_root(ref.path or "", data_root, "dataset.path", must_be_file=True)


def load_dataset(ref: Dataset, data_root: Path | None) -> LoadedDataset:
    check_dataset(ref, data_root)
    if ref.name is not None:
        return BUILTIN_DATASETS[ref.name].loader()
    path = resolve_under_root(ref.path or "", data_root, "dataset.path", must_be_file=True)
    return load_file(path, ref.label_column, ref.text_column)
