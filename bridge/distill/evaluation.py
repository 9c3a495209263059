"""What a job's test accuracies mean: the trivial baseline a teacher must beat, and how far the
retention (shipped student accuracy / teacher accuracy) could move on another draw of test rows.

Both are cheap: the baseline is a count, and the retention interval is a paired bootstrap over
test rows computed from four counts (teacher right/wrong x student right/wrong), not by
resampling rows one by one.
"""

from __future__ import annotations

import numpy as np

from bridge.distill.trainer import accuracy

BOOTSTRAP_SAMPLES = 10_000
BOOTSTRAP_SEED = 0


def majority_baseline_accuracy(train_y: np.ndarray, test_y: np.ndarray) -> float | None:
    """Accuracy on the labelled test rows of always answering the most frequent class of the
    labelled training rows; None when either split has no labels (soft-label distillation)."""
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    train_y, test_y = train_y[train_y >= 0], test_y[test_y >= 0]
    if not len(train_y) or not len(test_y):
        return None
    majority = np.bincount(train_y).argmax()
    return float((test_y == majority).mean())


def teacher_metrics(
    teacher_logits: np.ndarray, train_y: np.ndarray, test_y: np.ndarray
) -> dict[str, float]:
    """`teacher_accuracy` on the test split and, beside it, `majority_baseline_accuracy`: a
    teacher that does not clearly beat the baseline has nothing worth distilling."""
    metrics = {"teacher_accuracy": accuracy(teacher_logits, test_y)}
    baseline = majority_baseline_accuracy(train_y, test_y)
    if baseline is not None:
        metrics["majority_baseline_accuracy"] = baseline
    return metrics


def retention_interval(
    teacher_logits: np.ndarray,
    student_logits: np.ndarray,
    y: np.ndarray,
    level: float = 0.95,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, float]:
    """A percentile interval for the retention in percent (100 * student / teacher accuracy),
    from a paired bootstrap over the labelled test rows: each resample draws rows with
    replacement and scores teacher and student on the same rows. Only the four counts of
    (teacher right?, student right?) matter, so a resample is one multinomial draw.
    Returns `retention_ci_low_pct` and `retention_ci_high_pct`, and from the same resamples
    the shipped student's accuracy interval `student_accuracy_ci_low` / `_high` (empty with no
    labelled rows)."""
    labelled = np.asarray(y) >= 0
    y = np.asarray(y)[labelled]
    if not len(y):
        return {}
    t = np.asarray(teacher_logits)[labelled].argmax(axis=1) == y
    s = np.asarray(student_logits)[labelled].argmax(axis=1) == y
    cells = np.array([(t & s).sum(), (t & ~s).sum(), (~t & s).sum(), (~t & ~s).sum()])
    draws = np.random.default_rng(seed).multinomial(len(y), cells / len(y), size=samples)
    teacher_right = draws[:, 0] + draws[:, 1]
    student_right = draws[:, 0] + draws[:, 2]
    retention = 100.0 * student_right / np.maximum(teacher_right, 1)
    tail = 100.0 * (1.0 - level) / 2
    low, high = np.percentile(retention, [tail, 100.0 - tail])
    acc_low, acc_high = np.percentile(student_right / len(y), [tail, 100.0 - tail])
    return {
        "retention_ci_low_pct": float(low),
        "retention_ci_high_pct": float(high),
        "student_accuracy_ci_low": float(acc_low),
        "student_accuracy_ci_high": float(acc_high),
    }


__all__ = ["majority_baseline_accuracy", "retention_interval", "teacher_metrics"]
