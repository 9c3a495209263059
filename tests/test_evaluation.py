"""The numbers that say whether a job's accuracies mean something: the majority-class baseline
and the paired-bootstrap interval of the retention (bridge.distill.evaluation)."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.distill.evaluation import (
    majority_baseline_accuracy,
    retention_interval,
    teacher_metrics,
)


def _logits(predictions: np.ndarray, classes: int = 3) -> np.ndarray:
    out = np.zeros((len(predictions), classes), np.float32)
    out[np.arange(len(predictions)), predictions] = 1.0
    return out


def _pair(n: int, teacher_acc: float, student_acc: float, seed: int = 0):
    """Labels and correlated teacher/student predictions: the student copies the teacher on most
    rows, as a distilled student does."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    t_right = rng.random(n) < teacher_acc
    s_right = np.where(rng.random(n) < 0.9, t_right, rng.random(n) < student_acc)
    wrong = (y + 1) % 3
    return _logits(np.where(t_right, y, wrong)), _logits(np.where(s_right, y, wrong)), y


def test_majority_baseline_is_the_test_share_of_the_most_frequent_training_class():
    train = np.array([1, 1, 1, 0, 2, -1, -1, -1, -1])  # unlabelled rows do not vote
    test = np.array([1, 0, 1, 2, -1])  # nor count
    assert majority_baseline_accuracy(train, test) == 0.5
    assert majority_baseline_accuracy(np.array([-1, -1]), test) is None
    assert majority_baseline_accuracy(train, np.array([-1])) is None


def test_teacher_metrics_put_the_baseline_beside_the_teacher():
    y = np.array([0, 1, 1, 1])
    m = teacher_metrics(_logits(np.array([0, 1, 1, 0])), np.array([1, 1, 0]), y)
    assert m == {"teacher_accuracy": 0.75, "majority_baseline_accuracy": 0.75}
    # soft-label jobs have no training labels: no baseline, the teacher's accuracy still
    assert teacher_metrics(_logits(np.array([0, 1, 1, 0])), np.array([-1, -1]), y) == {
        "teacher_accuracy": 0.75
    }


def test_identical_predictions_retain_exactly_100_percent():
    teacher, _, y = _pair(500, 0.9, 0.9)
    ci = retention_interval(teacher, teacher.copy(), y)
    assert (ci["retention_ci_low_pct"], ci["retention_ci_high_pct"]) == (100.0, 100.0)


def test_retention_interval_brackets_the_estimate_and_narrows_with_more_test_rows():
    widths = {}
    for n in (150, 10_000):
        teacher, student, y = _pair(n, 0.9, 0.85, seed=n)
        point = 100 * (student.argmax(1) == y).mean() / (teacher.argmax(1) == y).mean()
        ci = retention_interval(teacher, student, y)
        assert ci["retention_ci_low_pct"] < point < ci["retention_ci_high_pct"]
        widths[n] = ci["retention_ci_high_pct"] - ci["retention_ci_low_pct"]
    assert widths[10_000] < widths[150] / 5  # ~sqrt(10000/150) = 8x narrower


def test_retention_interval_matches_a_row_by_row_paired_bootstrap():
    teacher, student, y = _pair(300, 0.8, 0.75, seed=7)
    t, s = teacher.argmax(1) == y, student.argmax(1) == y
    rows = np.random.default_rng(1).integers(0, len(y), (4_000, len(y)))
    naive = np.percentile(100 * s[rows].mean(1) / t[rows].mean(1), [2.5, 97.5])
    ci = retention_interval(teacher, student, y)
    assert ci["retention_ci_low_pct"] == pytest.approx(naive[0], abs=0.6)
    assert ci["retention_ci_high_pct"] == pytest.approx(naive[1], abs=0.6)
    naive_accuracy = np.percentile(s[rows].mean(1), [2.5, 97.5])
    assert ci["student_accuracy_ci_low"] == pytest.approx(naive_accuracy[0], abs=0.006)
    assert ci["student_accuracy_ci_high"] == pytest.approx(naive_accuracy[1], abs=0.006)
    assert ci["student_accuracy_ci_low"] < s.mean() < ci["student_accuracy_ci_high"]


def test_retention_interval_is_seeded_and_skips_unlabelled_rows():
    teacher, student, y = _pair(400, 0.9, 0.85, seed=3)
    assert retention_interval(teacher, student, y) == retention_interval(teacher, student, y)
    padded = np.concatenate([y, -np.ones(50, np.int64)])
    junk = _logits(np.zeros(50, np.int64))
    assert retention_interval(
        np.vstack([teacher, junk]), np.vstack([student, junk]), padded
    ) == retention_interval(teacher, student, y)
    assert retention_interval(junk, junk, -np.ones(50, np.int64)) == {}
