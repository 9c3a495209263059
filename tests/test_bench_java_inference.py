"""bench/java_inference.py's pure parts: percentiles, text batches, goal verdicts in report()."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import java_inference as ji  # noqa: E402


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert ji.percentile(values, 50) == 50
    assert ji.percentile(values, 99) == 99
    assert ji.percentile([7], 99) == 7
    with pytest.raises(ValueError):
        ji.percentile([], 50)


def test_latency_summary_in_ms():
    s = ji.latency_summary([3_000_000, 1_000_000, 2_000_000])
    assert (s["n"], s["p50_ms"], s["p99_ms"]) == (3, 2.0, 3.0)


def test_text_batches_cut_to_the_longest_row_with_its_mask():
    ids = np.zeros((4, ji.MAX_LENGTH), dtype=np.int64)
    lengths = np.array([3, 5, 2, 4])
    for i, n in enumerate(lengths):
        ids[i, :n] = np.arange(1, n + 1)
    inputs = ji.Inputs(ids=ids, lengths=lengths)
    (first, mask), _ = inputs.batches(2)
    assert first.shape == (2, 5)
    assert mask.tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert [b[0].shape for b in inputs.batches(1)] == [(1, 3), (1, 5), (1, 2), (1, 4)]


def _run(p50_ms: float) -> dict:
    latency = {"n": 100, "p50_ms": p50_ms, "p99_ms": 2 * p50_ms, "mean_ms": p50_ms}
    return {
        "cold_start_ms": 50.0,
        "cold_ms": {"env": 30.0, "load": 15.0, "first": 5.0},
        "reload_ms": 10.0,
        "latency": {"1": latency, "32": latency},
        "throughput_rows_s": {"1": 1000.0, "2": 1900.0},
        "rss_mib": {"baseline": 40.0, "end": 90.0, "peak": 95.0},
    }


def _result(java_raw_ms: float, overhead: float = 0.08) -> dict:
    jmh = {"p50_us": 10.0, "mean_us": 11.0, "error_us": 1.0, "samples": 1000}
    pair = {"n": 100, "wrapper_p50_us": 10.8, "baseline_p50_us": 10.0, "overhead": overhead}
    task = {
        "artifact": {"job_id": "local-x", "int8_bytes": 8000, "teacher_onnx_bytes": 1_700_000},
        "runs": {
            "student_java_wrapper": _run(java_raw_ms),
            "student_java_raw": _run(java_raw_ms),
            "student_python_ort": _run(1.0),
            "teacher_java_onnx": _run(5.0),
            "teacher_python_torch": _run(20.0),
            "teacher_python_torch_1t": _run(15.0),
        },
        "jmh_us": {"wrapper": {"1": jmh, "32": jmh}, "raw": {"1": jmh, "32": jmh}},
        "paired_overhead": {"baseline": "raw", "1": pair, "32": pair},
        "same_inputs": True,
        "inputs": 150,
    }
    return {"tasks": {ji.TABULAR: task}}


def test_report_states_a_missed_goal(tmp_path):
    ratio_line = next(
        line
        for line in ji.report(_result(java_raw_ms=1.2), tmp_path).splitlines()
        if "<= 1.1x Python ORT" in line and "batch 1:" in line
    )
    assert "1.20x" in ratio_line and ratio_line.endswith("| MISSED |")


def test_wrapper_overhead_goal_follows_the_interleaved_pairs():
    def verdicts(overhead: float) -> list[bool]:
        return [
            g.met for g in ji.goals(_result(1.0, overhead)) if "DistilledModel overhead" in g.goal
        ]

    assert verdicts(0.08) == [False, False]
    assert verdicts(0.03) == [True, True]


def test_paired_summary_takes_the_median_of_per_pair_ratios():
    s = ji.paired_summary({"wrapper_ns": [110, 220, 1000], "baseline_ns": [100, 200, 100]})
    assert s["n"] == 3 and s["overhead"] == pytest.approx(0.10)


def test_goals_met_when_java_matches_python():
    verdicts = {g.goal: g.met for g in ji.goals(_result(java_raw_ms=1.05))}
    assert all(met for goal, met in verdicts.items() if "Python ORT" in goal)
    assert all(met for goal, met in verdicts.items() if "cold start" in goal)


def test_text_speedup_is_taken_against_the_faster_eager_teacher():
    result = _result(java_raw_ms=1.0)
    task = result["tasks"].pop(ji.TABULAR)
    task["runs"]["teacher_python_torch"] = _run(500.0)  # default threads, stalled
    task["runs"]["teacher_python_torch_1t"] = _run(8.0)
    result["tasks"][ji.TEXT] = task
    speedup = next(g for g in ji.goals(result) if "10x lower" in g.goal)
    assert speedup.figure.startswith("8.0x") and not speedup.met


def _raw(latency: list[int], cold_ms: float, digest: str) -> dict:
    return {
        "latency_ns": {"1": latency, "32": latency},
        "throughput": {"1": {"calls": 10, "elapsed_ns": 1_000_000_000, "rows_per_call": 1}},
        "cold": {"load_ns": cold_ms * 1e6},
        "reload": {"load_ns": 1e6},
        "rss_baseline_kib": 1024,
        "rss_kib": 2048,
        "rss_peak_kib": 4096,
        "x_sha256": digest,
    }


def test_merge_rounds_pools_samples_and_flags_differing_inputs():
    merged = ji.merge_rounds([_raw([1, 2], 10, "a"), _raw([3], 30, "a"), _raw([4], 20, "a")])
    assert merged["latency_ns"]["1"] == [1, 2, 3, 4]
    assert merged["throughput"]["1"]["calls"] == 30
    assert merged["cold"]["load_ns"] == 20e6  # the median round
    assert ji.summarise(merged)["rounds"] == 3
    assert ji.merge_rounds([_raw([1], 1, "a"), _raw([1], 1, "b")])["x_sha256"] == "differs"
