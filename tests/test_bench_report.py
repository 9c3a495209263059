"""bench/report.py builds REPORT.md from a results directory: one section per result, the
script's own report() where there is one, raw JSON where there is none, "not recorded" for
facts an old result lacks."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
_spec = importlib.util.spec_from_file_location("bench_report", BENCH / "report.py")
assert _spec is not None and _spec.loader is not None
bench_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_report)

FAKE = """
def main():
    pass


def report(result, plots):
    (plots / "fake.png").write_bytes(b"png")
    verdict = "Met" if result["ratio"] >= 2 else "Missed"
    return f"Goal: ratio >= 2. **{verdict}: {result['ratio']}x.** ![p](plots/fake.png)"
"""
BROKEN = "def main():\n    pass\n\n\ndef report(result, plots):\n    raise KeyError('x')\n"


def test_sections_goals_fallbacks_and_missing_facts(tmp_path):
    scripts, results = tmp_path / "bench", tmp_path / "bench" / "results"
    results.mkdir(parents=True)
    (scripts / "fake.py").write_text(FAKE)
    (scripts / "broken.py").write_text(BROKEN)
    (scripts / "old.py").write_text("def main():\n    pass\n")  # no report() yet
    machine = {"date": "2026-11-29", "cores": 2, "cpu": "Test CPU", "python": "3.11"}
    (results / "fake.json").write_text(
        json.dumps({"command": "python bench/fake.py", "machine": machine, "ratio": 2.5})
    )
    (results / "broken.json").write_text(json.dumps({"value": 1}))
    (results / "old.json").write_text(json.dumps([{"value": 7}]))  # pre-write_result format

    text = bench_report.build(results, scripts / "REPORT.md", scripts, machine={})

    assert text == (scripts / "REPORT.md").read_text()
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        "## broken",
        "## fake",
        "## old",
    ]
    fake = text.split("## fake")[1].split("## old")[0]
    assert "- command: `python bench/fake.py`" in fake and "- date: 2026-11-29" in fake
    assert "2 cores (Test CPU), Python 3.11, torch not recorded" in fake
    assert "Goal: ratio >= 2. **Met: 2.5x.**" in fake
    assert "![p](results/plots/fake.png)" in fake  # relative to REPORT.md
    assert (results / "plots" / "fake.png").is_file()
    assert "`report()` failed (KeyError" in text.split("## broken")[1]
    old = text.split("## old")[1]
    assert "- command: not recorded" in old and "has no `report()` yet" in old
    assert '"value": 7' in old


def test_discovery_needs_main_and_report(tmp_path):
    (tmp_path / "fake.py").write_text(FAKE)
    (tmp_path / "old.py").write_text("def main():\n    pass\n")
    (tmp_path / "_common.py").write_text(FAKE)
    (tmp_path / "report.py").write_text(FAKE)
    assert bench_report.discover(tmp_path) == (["fake"], ["old"])
