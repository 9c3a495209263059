"""Long phases report their progress: what they are, how far they are, roughly how long they
will take, at most about once a second, through the Python API, the server and the CLI."""

from __future__ import annotations

import io

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.cli_progress import JobPrinter, describe
from bridge.events import PhaseProgressEvent, StageEvent
from bridge.progress import PhaseProgress, duration_words
from bridge.remote import RemoteClient
from tests.conftest import digits_spec


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_rate_limited_and_estimates_once_it_has_measured_a_rate():
    events: list[PhaseProgressEvent] = []
    clock = _Clock()
    progress = PhaseProgress(events.append, "train", 1000, "steps", "5 epochs", clock=clock)
    for _ in range(99):  # 99 steps in 0.99 s: nothing but the first event
        clock.now += 0.01
        progress.advance()
    assert [(e.done, e.message) for e in events] == [(0, "5 epochs")]
    clock.now += 0.01
    progress.advance(loss=0.5)  # 1 s, 10%: past the share that gives an estimate
    assert events[-1].done == 100 and events[-1].figures == {"loss": 0.5}
    assert round(events[-1].eta_seconds) == 9  # 900 steps at 100 per second
    assert events[-1].message == "about 10 s in all here (measured over the first 100 steps)"
    clock.now += 1.0
    progress.advance(100)
    assert events[-1].message == "" and round(events[-1].eta_seconds) == 8  # said once
    progress.finish()
    assert (events[-1].done, events[-1].eta_seconds) == (1000, 0.0)
    assert len(events) == 4


def test_duration_words():
    assert [duration_words(s) for s in (0.2, 45, 89, 150, 5400, 5460)] == [
        "1 s",
        "45 s",
        "89 s",
        "2 min",
        "1 h 30 min",
        "1 h 31 min",
    ]


def test_plain_output_prints_a_phases_start_quarters_and_end():
    out = io.StringIO()  # not a terminal: plain lines
    printer = JobPrinter(out)
    printer(StageEvent("train", "training mlp student"))
    for done in range(0, 101, 5):
        message = "10 epoch(s) of 10 steps" if done == 0 else ""
        printer(PhaseProgressEvent("train", done, 100, "steps", done / 10, -1.0, message))
    printer(PhaseProgressEvent("export", 0, 1, "steps", 0.0, -1.0, "writing ONNX"))
    printer(PhaseProgressEvent("export", 1, 1, "steps", 0.4, 0.0))  # said by its stage line
    printer.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "[train] training mlp student"
    assert lines[1] == "  [train] 0/100 steps (0%) - 10 epoch(s) of 10 steps"
    assert [line.split()[1] for line in lines[2:]] == ["25/100", "50/100", "75/100", "100/100"]
    assert lines[-1] == "  [train] 100/100 steps (100%)"  # no "0 s left" at the end


def test_describe_reads_well_without_a_total_or_an_estimate():
    event = PhaseProgressEvent("teacher_cache", 1200, 0, "rows", 3.0)
    assert describe(event) == "[teacher_cache] 1,200 rows"
    event = PhaseProgressEvent("train", 1200, 2400, "steps", 60.0, 75.0)
    assert describe(event) == "[train] 1,200/2,400 steps (50%), about 75 s left"


def test_a_served_job_streams_each_long_phases_progress(server):
    with RemoteClient(f"127.0.0.1:{server.port}", plaintext=True) as client:
        job = client.submit(digits_spec())
        events: list = []
        final = client.watch(job.job_id, events.append)
    assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
    progress = [e for e in events if isinstance(e, PhaseProgressEvent)]
    phases = {e.phase for e in progress}
    assert {"train", "export", "quantize", "jvm_check"} <= phases
    for phase in phases:
        mine = [e for e in progress if e.phase == phase]
        assert mine[0].message, f"{phase}: its first event says what it is"
        assert [e.done for e in mine] == sorted(e.done for e in mine)
        assert mine[-1].done == mine[-1].total and mine[-1].eta_seconds == 0
        seconds = mine[-1].elapsed_seconds
        assert len(mine) <= seconds + 3, f"{phase}: {len(mine)} events in {seconds:.1f} s"
    train = [e for e in progress if e.phase == "train"]
    assert train[-1].total == train[-1].done > 4 and train[-1].figures["epoch"] == 4
