"""Teacher outputs computed once, written to memory-mapped .npy files, reused by later jobs.

Keyed by a hash of (teacher identity, dataset fingerprint, preprocessing, requested outputs), so
a second job with the same teacher and data skips teacher inference entirely — the teacher is
never even loaded. The trainer reads batches straight from the memory maps: teacher outputs do
not occupy the student's RAM.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bridge.data import LoadedDataset
from bridge.data.features import Features
from bridge.events import EventSink, LogEvent, ignore_events
from bridge.models.teachers import OutputRequest, Teacher
from bridge.paths import locked, locked_if_free, tree_bytes
from bridge.progress import PhaseProgress
from bridge.spec import SpecError

# Largest teacher inference batches (see teacher_batch_size).
TEXT_TEACHER_BATCH = 64
TEACHER_BATCH = 256
TEACHER_CACHE_DIR = "teacher-cache"  # under the home (a server's --data-dir)
COMPLETE = "complete.json"  # written last; its mtime is the entry's last use


@dataclass(frozen=True)
class TeacherOutputs:
    logits: np.ndarray  # [N, classes] float32
    hidden: dict[int, np.ndarray] = field(default_factory=dict)  # [N, L, H] float16
    attention: dict[int, np.ndarray] = field(default_factory=dict)  # [N, heads, L, L] float16
    pooled: np.ndarray | None = None  # [N, H] float16: mean-pooled last hidden state


@dataclass(frozen=True)
class CacheResult:
    outputs: dict[str, TeacherOutputs]  # per split name
    hit: bool
    seconds: float
    directory: Path
    cpu_seconds: float = 0.0  # this process's CPU time (all threads)


def cache_key(**facts: object) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


def teacher_outputs(
    root: Path,
    key: str,
    splits: dict[str, Features],
    request: OutputRequest,
    load_teacher: Callable[[], Teacher],
    batch_size: int,
    feature_split: str = "train",
    on_event: EventSink = ignore_events,
) -> CacheResult:
    """Logits for every split (hidden states / attention only for `feature_split`), from the
    cache when present; otherwise the teacher is loaded, run once and released."""
    directory = root / key[:32]
    start, cpu_start = time.perf_counter(), time.process_time()
    with locked(directory):  # a concurrent job with the same key waits, then reads this one's
        complete = directory / COMPLETE
        hit = complete.is_file()
        if hit:
            complete.touch()  # last use: what the server's retention counts from
        else:
            rows = sum(len(f) for f in splits.values())
            progress = PhaseProgress(
                on_event, "teacher_cache", rows, "rows", f"teacher outputs for {rows:,} rows"
            )
            _build(
                directory, key, splits, request, load_teacher, batch_size, feature_split, progress
            )
            progress.finish()
        # Opened under the lock, so retention cannot remove the entry in between; once open,
        # the memory maps outlive a later removal.
        outputs = {name: open_split(directory, name) for name in splits}
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return CacheResult(outputs, hit, seconds, directory, cpu)


def _build(
    directory: Path,
    key: str,
    splits: dict[str, Features],
    request: OutputRequest,
    load_teacher: Callable[[], Teacher],
    batch_size: int,
    feature_split: str,
    progress: PhaseProgress,
) -> None:
    """Writes the entry in a fresh temporary directory and renames it into place: a crash
    leaves no half entry under the key's name."""
    tmp = Path(tempfile.mkdtemp(prefix=directory.name + ".", suffix=".tmp", dir=directory.parent))
    try:
        teacher = load_teacher()
        try:
            for name, features in splits.items():
                wanted = request if name == feature_split else OutputRequest()
                _write_split(tmp, name, features, teacher, wanted, batch_size, progress)
        finally:
            teacher.release()
        (tmp / COMPLETE).write_text(json.dumps({"key": key, "splits": list(splits)}))
        shutil.rmtree(directory, ignore_errors=True)  # an incomplete entry of an older version
        tmp.rename(directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_split(
    directory: Path,
    split: str,
    features: Features,
    teacher: Teacher,
    request: OutputRequest,
    batch_size: int,
    progress: PhaseProgress,
) -> None:
    arrays: dict[str, np.ndarray] = {}
    width = features.arrays[0].shape[1] if features.is_text else 0
    for rows, out in teacher.outputs(features, request, batch_size):
        for name, value in out.items():
            if name not in arrays:
                arrays[name] = np.lib.format.open_memmap(
                    directory / f"{split}.{name}.npy",
                    mode="w+",
                    dtype=value.dtype,
                    shape=(len(features), *_full_shape(name, value.shape[1:], width)),
                )
            _store(arrays[name], rows, value)
        progress.advance(rows.stop - rows.start)
    for array in arrays.values():
        array.flush()


def _full_shape(name: str, shape: tuple[int, ...], width: int) -> tuple[int, ...]:
    """Text batches are trimmed to their longest sequence; the file holds the split's."""
    if name.startswith("hidden_"):
        return (width, shape[1])
    if name.startswith("attention_"):
        return (shape[0], width, width)
    return shape


def _store(target: np.ndarray, rows: slice, value: np.ndarray) -> None:
    if value.ndim == 3:
        target[rows, : value.shape[1]] = value
    elif value.ndim == 4:
        target[rows, :, : value.shape[2], : value.shape[3]] = value
    else:
        target[rows] = value


def open_split(directory: Path, split: str) -> TeacherOutputs:
    def load(path: Path) -> np.ndarray:
        return np.load(path, mmap_mode="r")

    hidden, attention = {}, {}
    for path in sorted(directory.glob(f"{split}.*.npy")):
        name = path.name[len(split) + 1 : -4]
        if name.startswith("hidden_"):
            hidden[int(name.split("_")[1])] = load(path)
        elif name.startswith("attention_"):
            attention[int(name.split("_")[1])] = load(path)
    pooled_file = directory / f"{split}.pooled.npy"
    pooled = load(pooled_file) if pooled_file.is_file() else None
    logits = np.asarray(load(directory / f"{split}.logits.npy"))
    return TeacherOutputs(logits, hidden, attention, pooled)


def teacher_batch_size(student_batch: int, text: bool) -> int:
    """The teacher's inference batch: no larger than the student's training batch, so the
    teacher phase never peaks above the student phase. Under inference mode a forward holds
    only a layer or two of activations at a time, while a training step at the same batch
    holds every activation, their gradients and the optimizer state."""
    return max(1, min(student_batch, TEXT_TEACHER_BATCH if text else TEACHER_BATCH))


def report_cache(cached: CacheResult, metrics: dict[str, float], on_event: EventSink) -> None:
    metrics["teacher_cache_hit"] = float(cached.hit)
    metrics["teacher_cache_seconds"] = cached.seconds
    metrics["teacher_cache_cpu_seconds"] = cached.cpu_seconds
    if cached.hit:
        on_event(LogEvent("teacher outputs found in the cache: no teacher inference"))
    else:
        on_event(
            LogEvent(
                f"teacher outputs computed in {cached.seconds:.1f} s and cached; teacher released"
            )
        )


def split_labels(dataset: LoadedDataset, cached: CacheResult) -> dict[str, np.ndarray]:
    """True labels; for an unlabeled dataset, validation and test are scored against the
    teacher's predictions (accuracy = agreement with the teacher) and training uses soft
    targets only."""
    ys = {n: getattr(dataset, n).y for n in ("train", "val", "test")}
    if not dataset.labeled:
        for n in ("val", "test"):
            ys[n] = np.asarray(cached.outputs[n].logits).argmax(axis=1)
    return ys


def check_classes(logits: np.ndarray, dataset: LoadedDataset) -> None:
    if dataset.labeled and logits.shape[1] != dataset.num_classes:
        raise SpecError(
            "teacher.reference",
            f"teacher predicts {logits.shape[1]} classes but dataset {dataset.name!r} has "
            f"{dataset.num_classes}",
        )


def remove_unused(
    root: Path, unused_for: float, now: float | None = None
) -> list[tuple[Path, int]]:
    """Removes entries (and builds left by a crash) not used for `unused_for` seconds, skipping
    any a job holds right now; returns what went, with the bytes each freed."""
    cutoff = (time.time() if now is None else now) - unused_for
    removed = []
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if entry.name.startswith(".") or not entry.is_dir():
            continue  # lock files stay: removing one a waiter holds would break the lock
        key_dir = key_directory(entry)
        stamp = entry / COMPLETE if entry == key_dir else entry
        with locked_if_free(key_dir) as free:
            if free and _mtime(stamp, entry) < cutoff:
                size = tree_bytes(entry)
                shutil.rmtree(entry, ignore_errors=True)
                removed.append((entry, size))
    return removed


def key_directory(entry: Path) -> Path:
    """The entry an item of the cache belongs to: itself, or the one a build ("<key>.<random>
    .tmp") is writing; its lock is the build's lock."""
    return entry.with_name(entry.name.split(".")[0])


def _mtime(stamp: Path, fallback: Path) -> float:
    return (stamp if stamp.exists() else fallback).stat().st_mtime
