"""Datasets: built-in catalogue, user files under a data root, the seeded split."""

from __future__ import annotations

from pathlib import Path

from bridge.data._dataset import SPLIT_SEED, DataFiles, LoadedDataset, Split
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
    "data_files",
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
        data_files(ref, data_root)


def data_files(ref: Dataset, data_root: Path | None) -> DataFiles:
    """A file dataset's files, resolved (under the data root on a server)."""

    def resolve(raw: str | None, field: str) -> Path | None:
        return resolve_under_root(raw, data_root, field, must_be_file=True) if raw else None

    train = resolve(ref.path or "", "dataset.path")
    assert train is not None
    return DataFiles(
        train,
        resolve(ref.validation_path, "dataset.validation_path"),
        resolve(ref.test_path, "dataset.test_path"),
        ref.validation_fraction,
        ref.test_fraction,
        ref.split_column,
    )


def load_dataset(ref: Dataset, data_root: Path | None) -> LoadedDataset:
    check_dataset(ref, data_root)
    if ref.name is not None:
        return BUILTIN_DATASETS[ref.name].loader()
    return load_file(data_files(ref, data_root), ref.label_column, ref.text_column)
