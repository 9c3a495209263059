"""The teacher-output cache shared by concurrent jobs: one build per key, no half entries."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from bridge.data.features import Features
from bridge.distill.teacher_cache import teacher_outputs
from bridge.models.teachers import OutputRequest

ROWS = np.arange(40, dtype=np.float32).reshape(20, 2)


class _CountingTeacher:
    """Logits = features @ W; counts loads; slow enough that builds would overlap."""

    loads = 0

    def __init__(self, fail: bool = False) -> None:
        type(self).loads += 1
        self.fail = fail

    def outputs(self, features: Features, request: OutputRequest, batch_size: int):
        for start in range(0, len(features), batch_size):
            time.sleep(0.05)
            if self.fail:
                raise RuntimeError("teacher crashed")
            rows = slice(start, start + batch_size)
            yield rows, {"logits": features.arrays[0][rows] @ np.ones((2, 3), np.float32)}

    def release(self) -> None:
        pass


def _splits() -> dict[str, Features]:
    return {n: Features(("input",), (ROWS,)) for n in ("train", "val")}


def test_concurrent_jobs_with_the_same_key_build_the_entry_once(tmp_path):
    _CountingTeacher.loads = 0
    results = []

    def job() -> None:
        result = teacher_outputs(
            tmp_path, "k" * 64, _splits(), OutputRequest(), _CountingTeacher, 4
        )
        results.append(result)

    threads = [threading.Thread(target=job) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _CountingTeacher.loads == 1
    assert sorted(r.hit for r in results) == [False, True, True]
    for r in results:
        np.testing.assert_array_equal(r.outputs["train"].logits, ROWS @ np.ones((2, 3)))
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["k" * 32]


def test_a_failed_build_leaves_no_entry_and_the_next_job_builds_it(tmp_path):
    with pytest.raises(RuntimeError, match="teacher crashed"):
        teacher_outputs(
            tmp_path, "f" * 64, _splits(), OutputRequest(), lambda: _CountingTeacher(True), 4
        )
    assert [p for p in tmp_path.iterdir() if not p.name.startswith(".")] == []
    again = teacher_outputs(tmp_path, "f" * 64, _splits(), OutputRequest(), _CountingTeacher, 4)
    assert not again.hit and again.outputs["val"].logits.shape == (20, 3)
