"""Failures keep their cause: a job's error is one line that names it, and the traceback of an
internal error reaches the server log."""

from __future__ import annotations

import io
import json
import logging
import multiprocessing as mp
import os
import re
import time
from pathlib import Path

import pytest

from bridge.errors import DistillError
from bridge.server import logs
from bridge.server.jobs import JobManager, ServerPaths
from bridge.server.store import Store
from bridge.server.worker import failure_message, worker_main
from bridge.spec import SpecError
from tests.conftest import digits_spec

# ---------------------------------------------------------------- the worker


def _worker_messages(spec: object, tmp_path: Path, job_id: str) -> list[tuple[str, object]]:
    """Runs a real worker process on `spec`; its messages up to and including the outcome."""
    spawn = mp.get_context("spawn")
    events = spawn.Queue()
    args = (spec, tmp_path / "out", ServerPaths(tmp_path, tmp_path), job_id, events, os.getpid())
    process = spawn.Process(target=worker_main, args=args, daemon=True)
    process.start()
    messages: list[tuple[str, object]] = []
    while not messages or messages[-1][0] not in ("ok", "error"):
        messages.append(events.get(timeout=300))
    process.join(timeout=30)
    return messages


def _json_log(fields: dict) -> dict:
    """What the server writes for a worker's log record (`logs.replay`), in JSON."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logs.replay(fields)
    finally:
        root.removeHandler(handler)
    (line,) = stream.getvalue().splitlines()
    return json.loads(line)


def test_an_internal_error_is_one_line_for_the_job_and_a_traceback_in_the_server_log(tmp_path):
    # A spec that is not a DistillSpec: the pipeline's first line raises AttributeError.
    messages = _worker_messages(None, tmp_path, "job-internal")
    kind, error = messages[-1]
    assert kind == "error"
    assert re.fullmatch(
        r"internal error: AttributeError: 'NoneType' object has no attribute 'validate' "
        r"\(pipeline\.py:\d+\)",
        error,
    )
    (record,) = [payload for kind, payload in messages if kind == "log"]
    entry = _json_log(record)
    assert entry["level"] == "ERROR" and entry["logger"] == "bridge.server.worker"
    assert entry["job_id"] == "job-internal" and entry["message"] == error
    trace = entry["exception"]
    assert trace.startswith("Traceback (most recent call last):")
    assert "spec.validate()" in trace
    assert trace.splitlines()[-1] == "AttributeError: 'NoneType' object has no attribute 'validate'"


def test_the_server_writes_a_workers_traceback_into_its_own_log(tmp_path, caplog):
    """Through the JobManager: the worker's record comes over the job's queue and is logged by
    the server process (`logs.replay`), while the job's error stays one line."""
    caplog.set_level(logging.INFO)
    jobs = JobManager(ServerPaths(tmp_path, tmp_path), Store(tmp_path), prepare=lambda spec: None)
    try:
        job = jobs.submit(digits_spec())
        deadline = time.time() + 300
        while not job.done:
            assert time.time() < deadline, "the job never finished"
            time.sleep(0.2)
    finally:
        jobs.shutdown()
    assert job.error.startswith("internal error: AttributeError: ") and "\n" not in job.error
    (record,) = [r for r in caplog.records if r.name == "bridge.server.worker"]
    assert record.process != os.getpid()  # logged in the worker, written by the server
    assert record.getMessage() == job.error and record.job_id == job.job_id
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].splitlines()[-1].startswith("AttributeError: ")


def test_an_internal_error_with_a_long_message_is_still_one_line_and_logged(caplog):
    caplog.set_level(logging.INFO)
    try:
        raise ValueError("shapes disagree\n  detail one\n  detail two")
    except ValueError as e:
        line = e.__traceback__.tb_lineno
        message = failure_message(e, "job-long")
    assert message == f"internal error: ValueError: shapes disagree (test_failure_causes.py:{line})"
    (record,) = caplog.records
    assert record.name == "bridge.server.worker" and record.levelno == logging.ERROR
    assert record.job_id == "job-long" and record.exc_info[0] is ValueError


@pytest.mark.parametrize(
    "error",
    [
        SpecError("training.epochs", "must be >= 1"),
        DistillError("gate max_parity_error failed: measured 0.1, limit 0.0001"),
    ],
)
def test_a_spec_or_distill_error_is_the_jobs_error_as_is_without_a_traceback(error, caplog):
    caplog.set_level(logging.DEBUG)
    try:
        raise error
    except Exception as e:
        assert failure_message(e, "job-own") == str(error)
    assert caplog.records == []
