"""bench/job_soak.py at test size: 4 jobs, 1 cancelled at a random moment, one worker killed with
SIGKILL mid-training, then everything deleted; no orphan process, temp file or file without a
record may be left, and every surviving artifact verifies."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import job_soak  # noqa: E402


def test_a_soak_with_cancels_and_a_killed_worker_leaves_nothing_behind(home, tmp_path, monkeypatch):
    # A system temp directory of the soak's own: the other test process quantizes in /tmp at
    # the same time, and its quant-* directories are not the soak's leftovers.
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(system_temp))
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))
    result = job_soak.soak(tmp_path / "data", home, jobs=4, cancel_share=0.25, kills=1, seed=4)
    assert result["problems"] == []
    states = result["final_states"]
    assert states.get("JOB_STATE_FAILED") == 1  # the killed worker's job, and only it
    assert states.get("JOB_STATE_SUCCEEDED", 0) >= 4 - 1 - 1
    assert sum(states.values()) == 4
    assert "**0** (goal: 0)" in job_soak.report(result, tmp_path)


def test_the_audit_finds_what_a_crash_leaves(tmp_path):
    from bridge.server import DistillServer, ServerConfig
    from bridge.server.audit import disk_audit

    data = tmp_path / "data"
    DistillServer(ServerConfig(port=0, data_dir=data)).stop(grace=0)
    (data / "jobs" / "job-0123456789ab").mkdir()
    (data / "uploads" / ".incoming-upl-0000000000000000").mkdir()
    (data / "teacher-cache" / "abc.1.tmp").mkdir(parents=True)
    problems = disk_audit(data)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "a job directory without a record",
        "an upload that never finished",
        "a cache build nobody is running",
    ]
