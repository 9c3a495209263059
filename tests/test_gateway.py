"""The Py4J debug server's entry point, called as the JVM calls it (bytes in, bytes out), and
the gateway itself on loopback with its owner-only connection file."""

from __future__ import annotations

import json
import stat

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.gateway import DebugEntryPoint, start_debug_server
from bridge.wire import spec_to_proto
from tests.conftest import digits_spec


def test_validate_reports_the_status_code_and_field_like_grpc(home):
    gateway = DebugEntryPoint(home)
    bad = spec_to_proto(digits_spec(teacher="no-such-teacher")).SerializeToString()
    code, message = gateway.validate(bad).split("\t")
    assert code == "NOT_FOUND" and message.startswith("teacher.reference")
    assert gateway.validate(spec_to_proto(digits_spec()).SerializeToString()) == ""


def test_a_job_streams_gap_free_events_and_ends_with_the_result(home):
    gateway = DebugEntryPoint(home)
    job_id = gateway.submit(spec_to_proto(digits_spec()).SerializeToString())
    events = []
    while not events or not events[-1].HasField("finished"):
        raw = gateway.nextEvent(job_id, len(events), 120_000)
        assert raw is not None, "no event within two minutes"
        events.append(pb.JobEvent.FromString(raw))
    assert [e.sequence for e in events] == list(range(len(events)))
    assert {e.job_id for e in events} == {job_id}
    finished = events[-1].finished
    assert finished.state == pb.JOB_STATE_SUCCEEDED, finished.error
    manifest = json.loads(finished.result.manifest_json)
    assert manifest["verification"]["jvm"]["status"] == "passed"
    assert {f.name for f in finished.result.files} == {
        "manifest.json",
        "model.onnx",
        "model.int8.onnx",
        "report/loss_curves.png",
        "report/report.md",
    }
    assert finished.result.metrics["jvm_parity_max_abs_diff"] <= 1e-5


def test_the_gateway_listens_on_loopback_with_an_owner_only_connection_file(home, tmp_path):
    server = start_debug_server(home, 0, tmp_path / "conn.json")
    try:
        info = json.loads((tmp_path / "conn.json").read_text())
        assert info["host"] == "127.0.0.1" and info["port"] == server.port > 0
        assert len(info["auth_token"]) >= 32
        assert stat.S_IMODE((tmp_path / "conn.json").stat().st_mode) == 0o600
    finally:
        server.shutdown()
