"""bench/soak.py's and bench/cold_start.py's pure parts: RSS flatness after warm-up, goal
verdicts, the report tables; the cold-start goals judged in one place."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import cold_start  # noqa: E402
import java_inference as ji  # noqa: E402
import soak  # noqa: E402
from _common import RESULTS  # noqa: E402


def _soak(rss_mib: list[float], failures: int = 0, mismatches: int = 0) -> dict:
    n = len(rss_mib)
    samples = [
        {"t_s": float(i), "answered": i * 100, "swaps": i, "rss_kib": r * 1024, "heap_used_kib": 0}
        for i, r in enumerate(rss_mib)
    ]
    return {
        "threads": 2,
        "predictions_per_thread": (n - 1) * 50,
        "answered": (n - 1) * 100,
        "failures": failures,
        "mismatches": mismatches,
        "examples": [],
        "swaps": n - 1,
        "by_precision": {"FP32": 10, "INT8": 10},
        "elapsed_ns": 30e9,
        "swap_seconds": 3.0,
        "swap_load_ms": {"p50": 20.0, "max": 40.0},
        "samples": samples,
    }


def test_rss_is_judged_after_warm_up_only():
    # 300 MiB during warm-up (first 10% of predictions and 2 swaps), then 100 -> 104 MiB
    rss = [300.0] * 3 + [100.0] * 10 + [104.0] * 10
    summary = soak.rss_summary(_soak(rss))
    assert summary["start_mib"] == 100.0 and summary["end_mib"] == 104.0
    assert abs(summary["growth"] - 0.04) < 1e-9
    assert summary["flat"] is True
    grown = soak.rss_summary(_soak([100.0] * 12 + [106.0] * 12))
    assert grown["flat"] is False


def test_too_few_samples_after_warm_up_are_no_verdict():
    result = _soak([100.0] * 6)
    result["rss"] = soak.rss_summary(result)
    assert result["rss"]["flat"] is None
    rss_goal = soak.goals(result)[1]
    assert not rss_goal["met"] and "too few samples" in rss_goal["figure"]


def test_a_wrong_answer_or_a_failure_misses_the_soak_goal(tmp_path):
    for failures, mismatches in ((1, 0), (0, 1)):
        result = _soak([100.0] * 30, failures, mismatches)
        result["rss"] = soak.rss_summary(result)
        assert not soak.goals(result)[0]["met"]
    result = _soak([100.0] * 30)
    result["rss"] = soak.rss_summary(result)
    result["goals"] = soak.goals(result)
    assert all(g["met"] for g in result["goals"])
    assert "| hot-swap soak: RSS flat within 5% after warm-up | +0.0%" in soak.report(
        result, tmp_path
    )


def _cold(total_ms: float) -> dict:
    sample = {
        "total_ns": total_ms * 1e6,
        "load_ns": (total_ms - 2) * 1e6,
        "runtime_start_ns": 60e6,
        "phases": {f"{p}_ns": 1e6 for p in cold_start.PHASES},
    }
    return cold_start.summary([sample, sample, sample])


def test_cold_start_goals_differ_by_task(tmp_path):
    result = {
        "first_start": {"first_ms": 400.0, "second_ms": 60.0, "native_dir": "/x"},
        "tasks": {
            ji.TEXT: {"model_bytes": 16e6, "configs": {"cached": _cold(120.0)}},
            ji.TABULAR: {"model_bytes": 8e3, "configs": {"cached": _cold(120.0)}},
        },
    }
    verdicts = {g["goal"].split(":")[0]: g["met"] for g in cold_start.goals(result)}
    assert verdicts == {ji.TEXT: True, ji.TABULAR: False}
    result["goals"] = cold_start.goals(result)
    text = cold_start.report(result, tmp_path)
    assert "| cached | 120 | 118 | 1.0 | 1.0 | 1.0 | 1.0 | 1.0 | 60 | 0 / 0 |" in text
    assert "400 ms the first time" in text


def test_java_inference_leaves_the_cold_start_verdict_to_cold_start_py():
    """One place judges a goal: java_inference's cold starts are context beside the runtimes,
    cold_start.py judges both tasks."""
    committed = json.loads((RESULTS / "java_inference.json").read_text())
    assert not [g for g in ji.goals(committed) if "cold start" in g.goal]
    judged = cold_start.goals(json.loads((RESULTS / "cold_start.json").read_text()))
    assert {g["goal"].split(":")[0] for g in judged} == {ji.TEXT, ji.TABULAR}
