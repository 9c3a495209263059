"""User datasets from files: CSV (numeric feature columns + a label column) and NPZ
(arrays `x`, `y`, optional `labels`). Bad content is a `SpecError` naming what is wrong."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from bridge.data._dataset import DataFiles, LoadedDataset, SplitPlan, split_dataset, split_origin
from bridge.data.text import load_text_file
from bridge.spec import SpecError

MIN_ROWS_PER_CLASS = 2


def load_file(
    files: DataFiles | Path, label_column: str, text_column: str | None = None
) -> LoadedDataset:
    files = DataFiles.of(files)
    suffix = files.train.suffix.lower()
    for path, _ in files.each()[1:]:
        if path.suffix.lower() != suffix:
            raise SpecError(
                "dataset.path", f"{path.name} is not a {suffix} file like {files.train.name}"
            )
    if text_column or suffix == ".jsonl":
        if suffix not in (".csv", ".jsonl"):
            raise SpecError("dataset.path", f"text datasets are .csv or .jsonl, not {suffix!r}")
        return load_text_file(files, text_column or "text", label_column)
    if suffix == ".csv":
        return load_csv(files, label_column)
    if suffix == ".npz":
        if files.split_column:  # arrays, not columns: nothing for the column to name
            raise SpecError(
                "dataset.split_column",
                f"{files.train.name} is an NPZ file (arrays x, y), without columns; a split "
                "column applies to CSV / JSONL files (NPZ: use dataset.validation_path / "
                "dataset.test_path)",
            )
        return load_npz(files)
    raise SpecError("dataset.path", f"unsupported file type {suffix!r} (.csv, .jsonl, .npz)")


def load_csv(files: DataFiles | Path, label_column: str) -> LoadedDataset:
    files = DataFiles.of(files)
    path = files.train
    header: list[str] | None = None
    rows: list[list[str]] = []
    origins: list[int] = []
    for file, origin in files.each():
        file_header, file_rows = _read_csv(file)
        if header is None:
            header = file_header
        elif file_header != header:
            raise SpecError(
                "dataset.path", f"{file.name} has other columns than {path.name}: {file_header}"
            )
        rows += file_rows
        origins += [origin] * len(file_rows)
    if not header:
        raise SpecError("dataset.path", f"{path.name} is empty")
    if label_column not in header:
        raise SpecError(
            "dataset.label_column",
            f"column {label_column!r} not in {path.name} (columns: {', '.join(header)})",
        )
    label_idx = header.index(label_column)
    split_idx = _split_index(header, files.split_column, path)
    not_features = {label_idx, split_idx}  # the split column says where a row goes, no more
    feature_cols = [c for i, c in enumerate(header) if i not in not_features]
    if not feature_cols:
        raise SpecError("dataset.path", f"{path.name} has no feature columns besides the label")
    x = np.empty((len(rows), len(feature_cols)), dtype=np.float32)
    raw_labels: list[str] = []
    for r, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise SpecError(
                "dataset.path", f"{path.name} line {r}: {len(row)} fields, header has {len(header)}"
            )
        raw_labels.append(row[label_idx])
        if split_idx is not None:
            where = f"{path.name} line {r}"
            origins[r - 2] = split_origin(row[split_idx], header[split_idx], where)
        values = [v for i, v in enumerate(row) if i not in not_features]
        for c, (col, text) in enumerate(zip(feature_cols, values, strict=True)):
            x[r - 2, c] = _parse_feature(text, col, path.name, r)
    labels = sorted(set(raw_labels))
    y = np.array([labels.index(v) for v in raw_labels], dtype=np.int64)
    return _checked(path, x, y, labels, "tabular", feature_cols, files.plan(origins))


def _split_index(header: list[str], column: str | None, path: Path) -> int | None:
    """Where the split column is in `header`; None without one."""
    if not column:
        return None
    if column not in header:
        raise SpecError(
            "dataset.split_column",
            f"column {column!r} not in {path.name} (columns: {', '.join(header)})",
        )
    return header.index(column)


def _read_csv(path: Path) -> tuple[list[str] | None, list[list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            return next(reader, None), list(reader)
    except (UnicodeDecodeError, csv.Error) as e:
        raise SpecError("dataset.path", f"{path.name} is not a readable UTF-8 CSV: {e}") from e


def load_npz(files: DataFiles | Path) -> LoadedDataset:
    files = DataFiles.of(files)
    path = files.train
    parts = [(_read_npz(file), origin) for file, origin in files.each()]
    arrays = parts[0][0]
    x = np.concatenate([a["x"] for a, _ in parts])
    y = np.concatenate([a["y"] for a, _ in parts])
    origins = [origin for a, origin in parts for _ in range(len(a["y"]))]
    if not np.issubdtype(x.dtype, np.number) or not np.issubdtype(y.dtype, np.integer):
        raise SpecError("dataset.path", f"{path.name}: x must be numeric and y integer class ids")
    if x.ndim == 3:
        x = x[:, None]  # [N, H, W] greyscale images
    if x.ndim not in (2, 4) or len(x) != len(y) or y.ndim != 1:
        raise SpecError(
            "dataset.path",
            f"{path.name}: expected x of shape [N, F] or [N, (C,) H, W] and y of shape [N], "
            f"got x {list(x.shape)} and y {list(y.shape)}",
        )
    if len(y) and (y.min() < 0):
        raise SpecError("dataset.path", f"{path.name}: class ids in y must be >= 0")
    n_classes = int(y.max()) + 1 if len(y) else 0
    labels = (
        [str(v) for v in arrays["labels"].tolist()]
        if "labels" in arrays
        else [str(i) for i in range(n_classes)]
    )
    if len(labels) < n_classes:
        raise SpecError(
            "dataset.path",
            f"{path.name}: y has class {n_classes - 1} but only {len(labels)} labels",
        )
    modality = "tabular" if x.ndim == 2 else "image"
    return _checked(path, x, y, labels, modality, None, files.plan(origins))


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (ValueError, OSError) as e:
        raise SpecError("dataset.path", f"{path.name} is not a readable .npz file: {e}") from e
    for key in ("x", "y"):
        if key not in arrays:
            raise SpecError("dataset.path", f"{path.name} has no array {key!r} (needs x and y)")
    return arrays


def _parse_feature(text: str, column: str, file: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SpecError(
            "dataset.path", f"{file} line {line}: column {column!r} is not numeric ({text!r})"
        ) from None
    if not math.isfinite(value):
        raise SpecError("dataset.path", f"{file} line {line}: column {column!r} is {text}")
    return value


def _checked(
    path: Path,
    x: np.ndarray,
    y: np.ndarray,
    labels: list[str],
    modality: str,
    feature_names: list[str] | None,
    plan: SplitPlan,
) -> LoadedDataset:
    if len(y) == 0:
        raise SpecError("dataset.path", f"{path.name} has no rows")
    if not np.isfinite(x).all():
        raise SpecError("dataset.path", f"{path.name}: x contains NaN or infinite values")
    present = np.unique(y)
    if len(present) < 2:
        raise SpecError("dataset.path", f"{path.name}: needs at least two classes")
    counts = np.bincount(y)
    sparse = [labels[i] for i in present if counts[i] < 3 * MIN_ROWS_PER_CLASS]
    if sparse:
        raise SpecError(
            "dataset.path",
            f"{path.name}: classes {sparse} have fewer than {3 * MIN_ROWS_PER_CLASS} rows "
            "(each split needs examples of every class)",
        )
    return split_dataset(
        path.stem,
        x,
        y,
        labels,
        modality,
        plan=plan,
        feature_names=feature_names,
        description=f"file {path.name}",
    )
