"""The in-memory dataset every later step consumes, and the seeded split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bridge.spec import DEFAULT_SPLIT_FRACTION, SpecError

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
    # Where a file's validation and test rows came from (recorded in the manifest).
    split: dict = field(default_factory=dict, compare=False)
    # The standardization of the training rows as loaded, kept when copies are added to them
    # (bridge.data.augment): the student and the manifest keep the statistics of the real data.
    loaded_normalization: tuple[np.ndarray, np.ndarray] | None = field(default=None, compare=False)

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
        if self.loaded_normalization is not None:
            return self.loaded_normalization
        x = self.train.x.astype(np.float64)
        if self.modality == "image":
            axes = (0, 2, 3)
            mean = x.mean(axis=axes).reshape(-1, 1, 1)
            std = x.std(axis=axes).reshape(-1, 1, 1)
        else:
            mean, std = x.mean(axis=0), x.std(axis=0)
        std = np.where(std < 1e-6, 1.0, std)  # constant features pass through unscaled
        return mean.astype(np.float32), std.astype(np.float32)


TRAIN_FILE, VALIDATION_FILE, TEST_FILE = 0, 1, 2

# What a split column's values mean (after stripping and lower-casing).
SPLIT_VALUES = {
    "train": TRAIN_FILE,
    "validation": VALIDATION_FILE,
    "val": VALIDATION_FILE,
    "valid": VALIDATION_FILE,
    "dev": VALIDATION_FILE,
    "test": TEST_FILE,
}


def split_origin(value: object, column: str, where: str) -> int:
    """The origin a split column's `value` gives its row; `where` ("d.csv line 7") places a
    value that is none of SPLIT_VALUES in the `SpecError`."""
    origin = SPLIT_VALUES.get(value.strip().lower()) if isinstance(value, str) else None
    if origin is None:
        found = f"is {value!r}" if value is not None else "has no value"
        raise SpecError(
            "dataset.split_column",
            f"{where}: {column!r} {found}; expected train, validation (or val, valid, dev) or test",
        )
    return origin


@dataclass(frozen=True)
class SplitPlan:
    """How a dataset file's rows become training, validation and test rows: rows from a
    separate validation or test file, or marked so by the file's split column (`origins`), are
    used whole for it; otherwise that share of the training rows is cut off, stratified and
    seeded."""

    validation_fraction: float = DEFAULT_SPLIT_FRACTION
    test_fraction: float = DEFAULT_SPLIT_FRACTION
    origins: np.ndarray | None = None  # per row: TRAIN_FILE, VALIDATION_FILE or TEST_FILE
    files: tuple[str, ...] = ()  # training, validation, test file names ("" = not given)
    split_column: str = ""  # the column the origins were read from ("" = from the files)

    def describe(self) -> dict:
        """Per part, where its rows came from: {"file": name}, {"split_column": column,
        "rows": n} or {"fraction_of_training_file": f} (cut from the training rows)."""
        out: dict = {}
        for origin, name in ((VALIDATION_FILE, "validation"), (TEST_FILE, "test")):
            given = len(self.files) > origin and self.files[origin]
            marked = self.marked_rows(origin)
            fraction = getattr(self, f"{name}_fraction")
            if given:
                out[name] = {"file": given}
            elif marked:
                out[name] = {"split_column": self.split_column, "rows": marked}
            else:
                out[name] = {"fraction_of_training_file": fraction}
        return out

    def marked_rows(self, origin: int) -> int:
        """Rows the split column gives to `origin` (0 without a split column)."""
        if not self.split_column or self.origins is None:
            return 0
        return int(np.count_nonzero(self.origins == origin))


@dataclass(frozen=True)
class DataFiles:
    """The training file, and the validation / test files that replace the bridge's cut from
    it (None: cut `plan`'s fractions of the training file)."""

    train: Path
    validation: Path | None = None
    test: Path | None = None
    validation_fraction: float = DEFAULT_SPLIT_FRACTION
    test_fraction: float = DEFAULT_SPLIT_FRACTION
    # A column of the training file that marks each row's part (then no other files).
    split_column: str | None = None

    @classmethod
    def of(cls, files: DataFiles | Path) -> DataFiles:
        """`files` as given, or a lone training file."""
        return files if isinstance(files, DataFiles) else cls(files)

    def each(self) -> list[tuple[Path, int]]:
        """(path, origin) of every file given, the training file first."""
        given = [(self.train, TRAIN_FILE), (self.validation, VALIDATION_FILE)]
        given.append((self.test, TEST_FILE))
        return [(p, origin) for p, origin in given if p is not None]

    def plan(self, origins: list[int]) -> SplitPlan:
        names = tuple(p.name if p else "" for p in (self.train, self.validation, self.test))
        plan = SplitPlan(
            self.validation_fraction,
            self.test_fraction,
            np.asarray(origins),
            files=names,
            split_column=self.split_column or "",
        )
        if self.split_column:
            self._check_marked(plan)
        return plan

    def _check_marked(self, plan: SplitPlan) -> None:
        """The split column must leave rows to train on, and a fraction set beside rows it
        marks would go unused: refused, as beside a separate file."""
        if not plan.marked_rows(TRAIN_FILE):
            raise SpecError(
                "dataset.split_column",
                f"{self.train.name}: no row has {self.split_column!r} = train",
            )
        for origin, name in ((VALIDATION_FILE, "validation"), (TEST_FILE, "test")):
            fraction = getattr(self, f"{name}_fraction")
            if plan.marked_rows(origin) and fraction != DEFAULT_SPLIT_FRACTION:
                raise SpecError(
                    f"dataset.{name}_fraction",
                    f"{self.train.name}: {self.split_column!r} marks {name} rows, which are "
                    "used whole; leave the fraction unset",
                )


def split_dataset(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    labels: list[str],
    modality: str,
    *,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    val_fraction: float = DEFAULT_SPLIT_FRACTION,
    test_fraction: float = DEFAULT_SPLIT_FRACTION,
    plan: SplitPlan | None = None,
    feature_names: list[str] | None = None,
    description: str = "",
) -> LoadedDataset:
    """Stratified, seeded train/validation/test split (test taken from `test` when the source
    ships an official one; validation and test from their own files when `plan` says so)."""
    x = (
        np.asarray(x, dtype=object)
        if modality == "text"
        else np.ascontiguousarray(x, dtype=np.float32)
    )
    y = np.ascontiguousarray(y, dtype=np.int64)
    if plan is not None:
        val_fraction, test_fraction = plan.validation_fraction, plan.test_fraction
    origins = plan.origins if plan is not None and plan.origins is not None else None
    if origins is None:
        origins = np.full(len(y), TRAIN_FILE)
    rng = np.random.default_rng(SPLIT_SEED)
    train_rows = np.flatnonzero(origins == TRAIN_FILE)
    cut_for_test = 0.0
    if test is not None:
        test_split = Split(
            np.asarray(test[0], dtype=x.dtype), np.ascontiguousarray(test[1], dtype=np.int64)
        )
        cut_for_test = test_fraction  # as always for an official test set: a fixed split
    else:
        test_idx = np.flatnonzero(origins == TEST_FILE)
        if not len(test_idx):
            train_rows, test_idx = _cut(y, train_rows, test_fraction, rng)
            cut_for_test = test_fraction
        test_split = Split(x[test_idx], y[test_idx])
    val_idx = np.flatnonzero(origins == VALIDATION_FILE)
    if not len(val_idx):
        train_rows, val_idx = _cut(y, train_rows, val_fraction / (1 - cut_for_test), rng)
    ds = LoadedDataset(
        name=name,
        modality=modality,
        labels=labels,
        train=Split(x[train_rows], y[train_rows]),
        val=Split(x[val_idx], y[val_idx]),
        test=test_split,
        feature_names=feature_names,
        description=description,
        split=plan.describe() if plan is not None else {},
    )
    return _with_fingerprint(ds)


def _cut(
    y: np.ndarray, rows: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`rows` split into (kept, cut off), stratified by class."""
    keep, cut = _stratified_cut(y[rows], fraction, rng)
    return rows[keep], rows[cut]


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
