"""Teacher-labelled augmentation (`TrainingParams.augment_copies`): shifted copies of every
training image, labelled by the teacher in its one cached pass; refused where there are no
images or no teacher."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bridge.data import load_dataset
from bridge.data.augment import max_shift_px, shifted, with_shifted_copies
from bridge.events import PhaseProgressEvent, ProgressEvent
from bridge.pipeline import RunContext, run
from bridge.spec import Dataset, MlpConfig, QuantType, SpecError, TrainingParams
from tests.conftest import digits_spec

PARAMS = TrainingParams(epochs=2, batch_size=64, learning_rate=5e-3, seed=3)


def test_a_shift_moves_the_image_and_repeats_its_edge():
    image = np.zeros((1, 1, 5, 5), dtype=np.float32)
    image[0, 0, 2, 2] = 1.0  # one bright pixel in the middle
    image[0, 0, 0, :] = 0.5  # a grey top row
    out = shifted(image, np.array([[1, -2]]))  # one down, two left
    assert out[0, 0, 3, 0] == 1.0 and out.sum() == pytest.approx(1.0 + 0.5 * 5 * 2)
    assert (out[0, 0, :2, :] == 0.5).all()  # the top row moved down; its edge fills above it


def test_copies_follow_the_originals_keep_their_labels_and_are_seeded(digits):
    augmented = with_shifted_copies(digits, copies=2, seed=7)
    n = len(digits.train)
    assert len(augmented.train) == 3 * n
    np.testing.assert_array_equal(augmented.train.x[:n], digits.train.x)
    np.testing.assert_array_equal(augmented.train.y, np.tile(digits.train.y, 3))
    for copy in (1, 2):
        moved = augmented.train.x[copy * n : (copy + 1) * n]
        assert not (moved == digits.train.x).all(axis=(1, 2, 3)).any(), "a copy equal to its image"
    assert augmented.val == digits.val and augmented.test == digits.test
    assert augmented.fingerprint != digits.fingerprint  # the teacher cache is keyed by the rows
    for kept, loaded in zip(augmented.normalization(), digits.normalization(), strict=True):
        np.testing.assert_array_equal(kept, loaded)  # the student standardizes as before
    record = augmented.split["train_augmentation"]
    assert record["rows"] == 3 * n and record["max_shift_px"] == 1  # 8x8 digits
    assert (max_shift_px(28, 28), max_shift_px(8, 8), max_shift_px(64, 48)) == (2, 1, 3)
    again = with_shifted_copies(digits, copies=2, seed=7)
    np.testing.assert_array_equal(again.train.x, augmented.train.x)
    other = with_shifted_copies(digits, copies=2, seed=8)
    assert not np.array_equal(other.train.x, augmented.train.x)


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        (
            {"dataset": Dataset.builtin("german-credit"), "teacher": "german-credit-mlp"},
            "'german-credit' is tabular",
        ),
        ({"teacher": "self"}, "no teacher model"),
    ],
)
def test_copies_without_images_or_without_a_teacher_are_refused_naming_the_field(overrides, says):
    from bridge.check import check

    spec = digits_spec(training=TrainingParams(augment_copies=2), **overrides)
    with pytest.raises(SpecError) as e:
        check(spec, None)
    assert e.value.field == "training.augment_copies" and says in str(e.value)
    with pytest.raises(SpecError) as e:
        digits_spec(training=TrainingParams(augment_copies=17)).validate()
    assert e.value.field == "training.augment_copies"


def test_a_job_labels_the_copies_with_the_teacher_trains_on_them_and_records_them(tmp_path, home):
    events: list = []
    params = TrainingParams(**{**PARAMS.__dict__, "augment_copies": 2})
    spec = digits_spec(training=params, student=MlpConfig((32,)), quantization=QuantType.NONE)
    result = run(spec, tmp_path / "copies", RunContext(home=home), events.append)
    digits = load_dataset(Dataset.builtin("digits"), None)
    rows = 3 * len(digits.train)
    labelled = next(
        e for e in events if isinstance(e, PhaseProgressEvent) and e.phase == "teacher_cache"
    )
    assert labelled.total == rows + len(digits.val) + len(digits.test)  # the teacher saw the copies
    steps = next(e.steps_per_epoch for e in events if isinstance(e, ProgressEvent))
    assert steps == math.ceil(rows / PARAMS.batch_size)  # and training did
    record = result.manifest["dataset"]["split"]["train_augmentation"]
    assert record["rows"] == rows and record["shifted_copies"] == 2
    assert result.manifest["dataset"]["rows"]["train"] == rows
    assert result.metrics["train_rows_augmented"] == rows
