"""Teacher outputs computed once, written to memory-mapped .npy files, reused by later jobs.

Keyed by a hash of (teacher identity, dataset fingerprint, preprocessing, requested outputs,
storage layout), so a second job with the same teacher and data skips teacher inference
entirely — the teacher is never even loaded. The trainer reads batches straight from the files:
teacher outputs do not occupy the student's RAM.

Feature targets (hidden states, attention maps) grow with rows x tokens x layers, so they follow
the job's `CacheBudget` (`plan_features`): logits are always cached; feature targets are cached
compactly (bridge/distill/compact.py) when they fit the disk budget, in the dense fp16 layout
of old only when asked (`features=full`), and otherwise recomputed on the fly: the trainer keeps
the teacher loaded and runs it under inference mode for each batch (`RecomputeReader`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from bridge.cache_budget import CacheBudget
from bridge.data import LoadedDataset
from bridge.data.features import Features
from bridge.distill.compact import (
    LAYOUT_FILE,
    ArraySpec,
    CompactReader,
    CompactWriter,
    compact_bytes,
)
from bridge.events import EventSink, LogEvent, ignore_events
from bridge.models.teachers import OutputRequest, Teacher
from bridge.options import format_bytes
from bridge.paths import locked, locked_if_free, tree_bytes
from bridge.progress import PhaseProgress
from bridge.spec import SpecError

# Largest teacher inference batches (see teacher_batch_size).
TEXT_TEACHER_BATCH = 64
TEACHER_BATCH = 256
TEACHER_CACHE_DIR = "teacher-cache"  # under the home (a server's --data-dir)
COMPLETE = "complete.json"  # written last; its mtime is the entry's last use


# How a job's feature targets reach the trainer (metric `teacher_features_path`).
FEATURE_PATHS = {"none": 0, "full": 1, "compact": 2, "recompute": 3}
_LAYOUTS = {"full": "full-v1", "compact": "compact-v1"}  # anything else: logits-v1


class FeatureReader(Protocol):
    """A split's feature targets for one batch, as dense float tensors trimmed or padded to the
    batch's `width`: (hidden per hidden_states index, attention per 0-based layer)."""

    def read(self, idx: np.ndarray, width: int) -> tuple[dict[int, Tensor], dict[int, Tensor]]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class TeacherOutputs:
    logits: np.ndarray  # [N, classes] float32
    hidden: dict[int, np.ndarray] = field(default_factory=dict)  # [N, L, H] float16
    attention: dict[int, np.ndarray] = field(default_factory=dict)  # [N, heads, L, L] float16
    pooled: np.ndarray | None = None  # [N, H] float16: mean-pooled last hidden state
    # Set when feature targets are compact or recomputed (then `hidden`/`attention` are empty).
    features: FeatureReader | None = None


@dataclass(frozen=True)
class TeacherShape:
    """What sizes a Transformer teacher's feature targets: read from its config, not loaded."""

    hidden_size: int
    heads: int


@dataclass(frozen=True)
class FeaturePlan:
    """Where this job's feature targets come from, and why (bytes needed against the budget)."""

    path: str  # a key of FEATURE_PATHS
    budget: CacheBudget
    logits_bytes: int  # always cached: logits of every split (+ pooled sentence features)
    full_bytes: int  # feature targets, dense fp16 at the split's padded width
    compact_bytes: int  # feature targets, real tokens only, int8/uint8 + scales
    reason: str

    @property
    def code(self) -> int:
        return FEATURE_PATHS[self.path]

    @property
    def layout(self) -> str:
        return _LAYOUTS.get(self.path, "logits-v1")

    @property
    def mapped(self) -> bool:
        """Compact targets are memory-mapped only when all of them may be resident."""
        return self.compact_bytes <= self.budget.resident_bytes

    def to_dict(self) -> dict:
        """For the manifest and the report: the path, why, and the sizes it was chosen from."""
        return {
            "features": self.path,
            "described": PATH_NAMES[self.path],
            "reason": self.reason,
            "budget": self.budget.describe(),
            "logits_bytes": self.logits_bytes,
            "features_fp16_bytes": self.full_bytes,
            "features_compact_bytes": self.compact_bytes,
        }

    def cached_request(self, request: OutputRequest) -> OutputRequest:
        """What the cache entry holds: everything, or (recomputing) logits and pooled only."""
        return request if self.path in _LAYOUTS else OutputRequest(pooled=request.pooled)


def plan_features(
    splits: dict[str, Features],
    request: OutputRequest,
    shape: TeacherShape | None,
    classes: int,
    budget: CacheBudget,
    feature_split: str = "train",
) -> FeaturePlan:
    """Chooses full / compact / recompute from sizes known before the teacher runs: the
    split's token lengths give the compact layout's exact size."""
    rows = sum(len(f) for f in splits.values())
    train = splits[feature_split]
    pooled = len(train) * shape.hidden_size * 2 if request.pooled and shape else 0
    logits = rows * classes * 4 + pooled
    specs = feature_specs(request, shape)
    if not specs:
        return FeaturePlan("none", budget, logits, 0, 0, "no feature losses")
    width = train.arrays[0].shape[1]
    full = len(train) * sum(_dense_row_bytes(s, width) for s in specs.values())
    compact = compact_bytes(specs, train.arrays[1].sum(axis=1))
    room = budget.disk_bytes - logits
    plan = lambda path, why: FeaturePlan(path, budget, logits, full, compact, why)  # noqa: E731
    sizes = f"fp16 {format_bytes(full)}, compact {format_bytes(compact)}"
    left = (
        f"the disk budget leaves {format_bytes(room)} after logits"
        if room >= 0
        else f"logits alone take {format_bytes(logits)} of the disk budget"
    )
    if budget.features == "recompute":
        return plan("recompute", f"the budget says features=recompute ({sizes})")
    if budget.features == "full" and full <= room:
        return plan("full", f"fp16 feature targets ({format_bytes(full)}) fit: {left}")
    if compact <= room:
        return plan("compact", f"compact feature targets fit ({sizes}; {left})")
    return plan("recompute", f"feature targets do not fit even compact ({sizes}; {left})")


def feature_specs(request: OutputRequest, shape: TeacherShape | None) -> dict[str, ArraySpec]:
    if shape is None:
        return {}
    heads = 1 if request.average_heads else shape.heads
    return {f"hidden_{i}": ArraySpec("hidden", shape.hidden_size) for i in request.hidden} | {
        f"attention_{i}": ArraySpec("attention", heads) for i in request.attention
    }


def _dense_row_bytes(spec: ArraySpec, width: int) -> int:
    per_token = spec.size if spec.kind == "hidden" else spec.size * width
    return 2 * width * per_token


class RecomputeReader:
    """Feature targets computed now: the teacher (loaded on first use, kept until `close`) runs
    each batch under inference mode. Pickles without the loaded teacher, so a DDP worker loads
    its own."""

    def __init__(
        self, load: Callable[[], Teacher], features: Features, request: OutputRequest
    ) -> None:
        self.load = load
        self.features = features
        self.request = OutputRequest(request.hidden, request.attention, request.average_heads)
        self._teacher: Teacher | None = None

    def read(self, idx: np.ndarray, width: int) -> tuple[dict[int, Tensor], dict[int, Tensor]]:
        if self._teacher is None:
            self._teacher = self.load()
        out = self._teacher.forward_batch(self.features.batch(idx), self.request)
        hidden = {i: _fit(out[f"hidden_{i}"], width, (1,)) for i in self.request.hidden}
        attention = {i: _fit(out[f"attention_{i}"], width, (2, 3)) for i in self.request.attention}
        return hidden, attention

    def close(self) -> None:
        if self._teacher is not None:
            self._teacher.release()
            self._teacher = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_teacher": None}


def _fit(value: np.ndarray, width: int, axes: tuple[int, ...]) -> Tensor:
    """Pads (zeros) or trims the token axes of a batch to `width`."""
    out = torch.from_numpy(value.astype(np.float32))
    for axis in axes:
        if out.shape[axis] > width:
            out = out.narrow(axis, 0, width)
        elif out.shape[axis] < width:
            pad = list(out.shape)
            pad[axis] = width - out.shape[axis]
            out = torch.cat([out, out.new_zeros(pad)], dim=axis)
    return out


@dataclass(frozen=True)
class CacheResult:
    outputs: dict[str, TeacherOutputs]  # per split name
    hit: bool
    seconds: float
    directory: Path
    cpu_seconds: float = 0.0  # this process's CPU time (all threads)
    plan: FeaturePlan | None = None
    bytes: int = 0  # the entry on disk

    def close(self) -> None:
        """Releases what reading feature targets holds (a recomputing teacher, open files, and
        the fp16 memory maps, whose pages would otherwise count in the export phase's RSS)."""
        for outputs in self.outputs.values():
            if outputs.features is not None:
                outputs.features.close()
            outputs.hidden.clear()
            outputs.attention.clear()


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
    plan: FeaturePlan | None = None,
) -> CacheResult:
    """Logits for every split (hidden states / attention only for `feature_split`), from the
    cache when present; otherwise the teacher is loaded, run once and released. `plan` (default:
    everything in the fp16 layout) says which feature targets are cached and how; `key` must
    include its layout. Recomputed targets come from a `RecomputeReader` on `feature_split`."""
    plan = plan or FeaturePlan("full", CacheBudget(), 0, 0, 0, "no budget given")
    cached_request = plan.cached_request(request)
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
            writing = _Writing(cached_request, batch_size, feature_split, plan.path == "compact")
            _build(directory, key, splits, load_teacher, writing, progress)
            progress.finish()
        # Opened under the lock, so retention cannot remove the entry in between; once open,
        # the memory maps outlive a later removal.
        outputs = {name: open_split(directory, name, plan.mapped) for name in splits}
        size = tree_bytes(directory)
    if plan.path == "recompute":
        reader = RecomputeReader(load_teacher, splits[feature_split], request)
        outputs[feature_split] = replace(outputs[feature_split], features=reader)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return CacheResult(outputs, hit, seconds, directory, cpu, plan, size)


@dataclass(frozen=True)
class _Writing:
    request: OutputRequest  # what the entry holds
    batch_size: int
    feature_split: str
    compact: bool  # feature targets compactly (else dense fp16)


def _build(
    directory: Path,
    key: str,
    splits: dict[str, Features],
    load_teacher: Callable[[], Teacher],
    writing: _Writing,
    progress: PhaseProgress,
) -> None:
    """Writes the entry in a fresh temporary directory and renames it into place: a crash
    leaves no half entry under the key's name."""
    tmp = Path(tempfile.mkdtemp(prefix=directory.name + ".", suffix=".tmp", dir=directory.parent))
    try:
        teacher = load_teacher()
        try:
            for name, features in splits.items():
                features_here = name == writing.feature_split
                wanted = writing.request if features_here else OutputRequest()
                compact = writing.compact and features_here
                _write_split(
                    tmp, name, features, teacher, wanted, writing.batch_size, progress, compact
                )
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
    compact: bool = False,
) -> None:
    arrays: dict[str, np.ndarray] = {}
    width = features.arrays[0].shape[1] if features.is_text else 0
    writer = CompactWriter(directory, split) if compact else None
    for rows, out in teacher.outputs(features, request, batch_size):
        lengths = features.arrays[1][rows].sum(axis=1) if writer else None
        for name, value in out.items():
            if writer is not None and name.startswith(("hidden_", "attention_")):
                writer.write(name, value, lengths)
                continue
            if name not in arrays:
                arrays[name] = np.lib.format.open_memmap(
                    directory / f"{split}.{name}.npy",
                    mode="w+",
                    dtype=value.dtype,
                    shape=(len(features), *_full_shape(name, value.shape[1:], width)),
                )
            _store(arrays[name], rows, value)
        if writer is not None:
            writer.add_lengths(lengths)
        progress.advance(rows.stop - rows.start)
    for array in arrays.values():
        array.flush()
    if writer is not None:
        writer.close()


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


def open_split(directory: Path, split: str, mapped: bool = True) -> TeacherOutputs:
    """A split of an entry; compact feature targets are memory-mapped only when `mapped`."""

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
    compact = (directory / f"{split}.{LAYOUT_FILE}").is_file()
    reader = CompactReader(directory, split, mapped) if compact else None
    return TeacherOutputs(logits, hidden, attention, pooled, reader)


def teacher_batch_size(student_batch: int, text: bool) -> int:
    """The teacher's inference batch: no larger than the student's training batch, so the
    teacher phase never peaks above the student phase. Under inference mode a forward holds
    only a layer or two of activations at a time, while a training step at the same batch
    holds every activation, their gradients and the optimizer state."""
    return max(1, min(student_batch, TEXT_TEACHER_BATCH if text else TEACHER_BATCH))


def report_cache(
    cached: CacheResult, metrics: dict[str, float], on_event: EventSink, train_rows: int
) -> None:
    metrics["teacher_cache_hit"] = float(cached.hit)
    metrics["teacher_cache_seconds"] = cached.seconds
    metrics["teacher_cache_cpu_seconds"] = cached.cpu_seconds
    recompute = cached.plan is not None and cached.plan.path == "recompute"
    released = "teacher kept loaded to recompute features" if recompute else "teacher released"
    if cached.hit and recompute:
        on_event(LogEvent("teacher logits found in the cache; the teacher recomputes features"))
    elif cached.hit:
        on_event(LogEvent("teacher outputs found in the cache: no teacher inference"))
    else:
        on_event(
            LogEvent(f"teacher outputs computed in {cached.seconds:.1f} s and cached; {released}")
        )
    metrics["teacher_cache_bytes"] = float(cached.bytes)
    metrics["teacher_cache_bytes_per_row"] = cached.bytes / max(1, train_rows)  # training rows
    plan = cached.plan
    if plan is None:
        return
    metrics["teacher_features_path"] = float(plan.code)
    metrics["teacher_cache_budget_bytes"] = float(plan.budget.disk_bytes)
    if plan.path != "none":
        metrics["teacher_features_fp16_bytes"] = float(plan.full_bytes)
        metrics["teacher_features_compact_bytes"] = float(plan.compact_bytes)
        on_event(
            LogEvent(
                f"teacher feature targets: {PATH_NAMES[plan.path]}: {plan.reason}; cache entry "
                f"{format_bytes(cached.bytes)} ({format_bytes(cached.bytes / max(1, train_rows))}"
                " per training row)"
            )
        )


PATH_NAMES = {
    "none": "none",
    "full": "cached (fp16)",
    "compact": "cached compactly (int8 hidden, uint8 attention, real tokens only)",
    "recompute": "recomputed on the fly each batch (logits cached)",
}


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
    root: Path,
    unused_for: float | None,
    now: float | None = None,
    max_bytes: int | None = None,
) -> list[tuple[Path, int]]:
    """Removes entries (and builds left by a crash) not used for `unused_for` seconds, then, while
    what is left holds more than `max_bytes`, the least recently used; an entry a job holds right
    now is never removed (nor a build in progress). Returns what went, with the bytes each
    freed."""
    cutoff = (time.time() if now is None else now) - (unused_for or 0)
    entries = _entries(root)
    total = sum(size for _, _, size in entries)
    removed = []
    for _, entry, size in sorted(entries, key=lambda e: e[0]):  # least recent first
        if max_bytes is not None and total > max_bytes:
            doomed = _remove_if_free(entry, lambda: True)
        elif unused_for is not None:  # its last use read again under the lock: a job may have
            doomed = _remove_if_free(entry, lambda e=entry: _last_use(e) < cutoff)  # just read it
        else:
            break
        if doomed:
            removed.append((entry, size))
            total -= size
    return removed


def _remove_if_free(entry: Path, still_wanted: Callable[[], bool]) -> bool:
    with locked_if_free(key_directory(entry)) as free:
        try:
            if not (free and still_wanted()):
                return False
        except FileNotFoundError:  # gone meanwhile
            return False
        shutil.rmtree(entry, ignore_errors=True)
        return True


def key_directory(entry: Path) -> Path:
    """The entry an item of the cache belongs to: itself, or the one a build ("<key>.<random>
    .tmp") is writing; its lock is the build's lock."""
    return entry.with_name(entry.name.split(".")[0])


def _entries(root: Path) -> list[tuple[float, Path, int]]:
    """(last use, entry, bytes) of each entry and build; lock files stay (a waiter holds one),
    and a build renamed into place meanwhile is seen next time."""
    found = []
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        try:
            found.append((_last_use(entry), entry, tree_bytes(entry)))
        except FileNotFoundError:
            continue
    return found


def _last_use(entry: Path) -> float:
    """When a job last read an entry (its completion stamp, touched on every use), or when a
    build was last written to."""
    stamp = entry / COMPLETE if entry == key_directory(entry) else entry
    return (stamp if stamp.exists() else entry).stat().st_mtime
