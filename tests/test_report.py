"""The per-job report's pieces without a training run: the event recorder and the safe names
a downloaded report file may have."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge import report
from bridge.events import LogEvent, ProgressEvent, StageEvent, ValidationEvent
from bridge.export.manifest import member_path
from bridge.report import TrainingHistory, render_markdown, write_report


def _progress(epoch: int, step: int, loss: float) -> ProgressEvent:
    return ProgressEvent(epoch, 2, step, 10, loss, 0.0, 0.0, 1e-3, 4.0, 0.5)


def test_history_records_curves_and_stage_changes_and_passes_every_event_on():
    seen = []
    history = TrainingHistory(seen.append)
    events = [
        StageEvent("train", "training"),  # a pipeline stage, not a schedule stage
        StageEvent("train.warmup"),
        _progress(1, 5, 2.0),
        StageEvent("train.distill"),
        _progress(1, 10, 1.0),
        ValidationEvent(1, 0.8, 0.9, True),
        LogEvent("hello"),
    ]
    for e in events:
        history(e)
    assert seen == events
    assert [(p.position, p.loss) for p in history.losses] == [(0.5, 2.0), (1.0, 1.0)]
    assert [(s.name, s.position) for s in history.stages] == [("warmup", 0.0), ("distill", 0.5)]
    text = render_markdown({"job_id": "j", "metrics": {"student_accuracy": 0.91234}}, history)
    assert "| student accuracy (fp32 ONNX) | 0.9123 |" in text
    assert "| 1 | warmup → distill | 0.8000 | 0.9000 | yes |" in text


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "report/../../x", "a\\b", "report//x", ""])
def test_unsafe_member_names_are_refused(name):
    with pytest.raises(ValueError, match="unsafe"):
        member_path(Path("/tmp/a"), name)


def test_nested_member_names_resolve_inside():
    assert member_path(Path("/tmp/a"), "report/report.md") == Path("/tmp/a/report/report.md")


def test_a_report_that_cannot_be_written_is_a_warning_and_leaves_nothing(tmp_path, monkeypatch):
    def broken(history, path):
        path.write_bytes(b"half")
        raise RuntimeError("no fonts")

    monkeypatch.setattr(report, "plot_curves", broken)
    seen = []
    history = TrainingHistory(seen.append)
    assert write_report(tmp_path, {"metrics": {}}, history, seen.append) is None
    assert not (tmp_path / "report").exists()
    assert [(e.level, e.message) for e in seen] == [
        ("WARNING", "no report written: RuntimeError: no fonts")
    ]


def test_a_pruned_vocabulary_has_its_own_section():
    metrics = {
        "student_vocabulary": 9114.0,
        "teacher_vocabulary": 30522.0,
        "vocabulary_unseen_val_pct": 1.1406,
        "vocabulary_oov_val_pct": 0.0,
    }
    text = render_markdown({"metrics": metrics}, TrainingHistory(lambda e: None))
    assert "## Vocabulary (text students)" in text
    assert "| student vocabulary (tokens) | 9,114 |" in text
    assert "| validation tokens outside the pruned vocabulary | 1.14% |" in text
    assert "Other metrics" not in text
