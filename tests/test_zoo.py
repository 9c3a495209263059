"""Zoo teachers: a cached teacher is reused only for the recipe and the dataset that trained it
(each dataset has its own, so concurrent jobs on different data never swap it), and the demo's
teacher (`make demo`, `distill-bridge demo`) is worth distilling: it clearly beats always
answering the most frequent class."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import onnxruntime as ort
import pytest
import torch

from bridge.data import BUILTIN_DATASETS, load_dataset
from bridge.distill.evaluation import majority_baseline_accuracy
from bridge.models.builders import mlp
from bridge.models.zoo import ZOO
from bridge.paths import sha256_file
from bridge.spec import Dataset
from bridge.teacher_prep import ensure_zoo_teacher

DEMO_TEACHER, DEMO_DATASET = "fashion-mnist-small-cnn", "fashion-mnist"


def test_recipe_follows_hyperparameters_and_network_not_wording():
    zoo = ZOO["digits-mlp"]
    assert replace(zoo, epochs=zoo.epochs + 1).recipe != zoo.recipe
    assert replace(zoo, weight_decay=0.1).recipe != zoo.recipe
    wider = replace(zoo, build=lambda d: mlp(d.input_shape, (512, 256), d.num_classes, 0.2))
    assert wider.recipe != zoo.recipe
    assert replace(zoo, description="reworded").recipe == zoo.recipe
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    assert replace(zoo).recipe == zoo.recipe  # built afresh: no random draw leaks out
    assert torch.equal(torch.rand(1), expected)


def test_a_teacher_cached_by_another_recipe_is_retrained(tmp_path, digits):
    old = replace(ZOO["digits-mlp"], epochs=2)
    ensure_zoo_teacher(old, digits, tmp_path)
    assert old.cached_info(tmp_path)["recipe"] == old.recipe
    new = replace(old, epochs=3)
    assert new.cached_info(tmp_path) is None  # not listed as cached, not reused
    events = []
    ensure_zoo_teacher(new, digits, tmp_path, events.append)
    assert any("training zoo teacher" in e.message for e in events)
    assert new.cached_info(tmp_path)["recipe"] == new.recipe
    assert old.cached_info(tmp_path) is None


def test_one_zoo_teacher_per_dataset_and_another_datasets_training_leaves_it_alone(
    tmp_path, digits
):
    """The built-in digits (8x8 images) and the same digits as a 64-column CSV: a server running
    jobs on both at once used to retrain one directory in place under the other job."""
    zoo = replace(ZOO["digits-mlp"], epochs=2)
    images = ensure_zoo_teacher(zoo, digits, tmp_path / "home")
    onnx_before = sha256_file(images / "teacher.onnx")
    x = digits.train.x.reshape(len(digits.train.y), -1)
    header = ",".join(f"p{i}" for i in range(x.shape[1])) + ",label\n"
    pairs = zip(x, digits.train.y, strict=True)
    rows = "\n".join(",".join(f"{v:g}" for v in r) + f",{c}" for r, c in pairs)
    (tmp_path / "digits.csv").write_text(header + rows + "\n")
    columns = load_dataset(Dataset.from_path(str(tmp_path / "digits.csv")), None)
    assert columns.fingerprint != digits.fingerprint

    flat = ensure_zoo_teacher(zoo, columns, tmp_path / "home")
    assert flat != images and flat.parent == images.parent == zoo.cache_dir(tmp_path / "home")
    assert sha256_file(images / "teacher.onnx") == onnx_before
    ranks = [
        len(ort.InferenceSession(str(d / "teacher.onnx")).get_inputs()[0].shape)
        for d in (images, flat)
    ]
    assert ranks == [len(digits.train.x.shape), 2]
    events = []
    assert ensure_zoo_teacher(zoo, digits, tmp_path / "home", events.append) == images
    assert events == []  # cached: nothing trained again
    info = zoo.cached_info(tmp_path / "home", digits.fingerprint)
    assert info is not None and info["dataset_fingerprint"] == digits.fingerprint
    assert 0.0 <= info["test_accuracy"] <= 1.0


@pytest.mark.slow
@pytest.mark.skipif(
    not BUILTIN_DATASETS[DEMO_DATASET].available, reason="dataset-fashion-mnist not installed"
)
def test_demo_teacher_clearly_beats_the_majority_baseline(home):
    """Trains the demo's zoo teacher as a job would (~20 s on 2 cores) into the session's home,
    where later jobs reuse it."""
    dataset = load_dataset(Dataset.builtin(DEMO_DATASET), None)
    zoo = ZOO[DEMO_TEACHER]
    assert zoo.dataset == DEMO_DATASET
    info = json.loads((ensure_zoo_teacher(zoo, dataset, home) / "info.json").read_text())
    baseline = majority_baseline_accuracy(dataset.train.y, dataset.test.y)
    accuracy, rows = info["test_accuracy"], len(dataset.test)
    assert rows == 10_000 and baseline == pytest.approx(0.1)
    low = accuracy - 1.96 * math.sqrt(accuracy * (1 - accuracy) / rows)  # 95% interval, lower end
    assert accuracy > 0.88  # 0.9056 measured
    assert low > baseline + 0.7
