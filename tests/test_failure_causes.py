"""Failures keep their cause: a job's error is one line that names it, the traceback of an
internal error reaches the server log, and a quantization step that failed on the way is never
silently dropped."""

from __future__ import annotations

import io
import json
import logging
import multiprocessing as mp
import os
import re
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import bridge.export._quantize_child as child
from bridge.errors import DistillError
from bridge.export.quantize import OUTCOME, quantize_int8
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


# ---------------------------------------------------------------- INT8 quantization


def _custom_op_model(path: Path) -> Path:
    """MatMul then an operator of an unknown domain: symbolic shape inference cannot finish
    ("Incomplete symbolic shape inference"), pre-processing without it and quantization can."""
    weight = numpy_helper.from_array(np.ones((4, 3), np.float32), "W")
    nodes = [
        helper.make_node("MatMul", ["input", "W"], ["mm"]),
        helper.make_node("Mystery", ["mm"], ["logits"], domain="test.custom"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 3])],
        [weight],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("test.custom", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


SYMBOLIC_FAILED = "symbolic shape inference failed (Exception: Incomplete symbolic shape inference)"


def test_a_fallback_that_succeeds_still_logs_why_it_was_needed(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="bridge.export.quantize")
    out = quantize_int8(_custom_op_model(tmp_path / "m.onnx"), tmp_path / "m.int8.onnx")
    assert out.is_file()
    (record,) = caplog.records
    assert record.name == "bridge.export.quantize" and SYMBOLIC_FAILED in record.getMessage()


def test_a_quantization_failure_is_one_line_carrying_the_first_cause(tmp_path):
    model = _custom_op_model(tmp_path / "m.onnx")
    with pytest.raises(DistillError) as e:
        quantize_int8(model, tmp_path / "missing" / "m.int8.onnx")
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith("INT8 quantization failed: FileNotFoundError: ")
    assert message.endswith(f"(after: {SYMBOLIC_FAILED}, so pre-processing ran without it)")


def test_when_both_pre_processing_attempts_fail_the_first_cause_is_kept(tmp_path, monkeypatch):
    def pre_process(source: str, target: str, skip_symbolic_shape: bool) -> None:
        if skip_symbolic_shape:
            raise ValueError("no shapes for node 7")
        raise RuntimeError("sympy cannot merge dims")

    monkeypatch.setattr(child, "quant_pre_process", pre_process)
    monkeypatch.chdir(tmp_path)
    assert child._run(["source.onnx", "target.onnx", "MatMul"]) == 1
    assert json.loads((tmp_path / OUTCOME).read_text()) == {
        "error": "ValueError: no shapes for node 7",
        "notes": [
            "symbolic shape inference failed (RuntimeError: sympy cannot merge dims), so "
            "pre-processing ran without it"
        ],
    }
