"""A quiet WatchJob (a job that says nothing for minutes, like a teacher fine-tuning) keeps its
connection: the server accepts the keepalive pings the clients send, with no GOAWAY
"too_many_pings" and no reconnect. Intervals are shortened (server 1 s, client 1.5 s: the same
margin as the defaults, 20 s and 30 s)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import grpc
import pytest

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
from bridge.remote import CHANNEL_OPTIONS, KEEPALIVE_MS
from bridge.server import DistillServer, ServerConfig
from bridge.wire import spec_to_proto
from tests.conftest import digits_spec
from tests.serverkit import EndlessWorkers

# Keepalive intervals of a second or so: never beside other tests (xdist).
pytestmark = pytest.mark.serial

SERVER_INTERVAL_S, CLIENT_INTERVAL_MS = 1.0, 1500
QUIET_S = 8.0  # five client keepalive intervals


@dataclass(frozen=True)
class _Config(ServerConfig):
    def make_executor(self, paths):  # noqa: ANN001, ANN201 - a job that runs silently
        return EndlessWorkers()


@pytest.fixture
def quiet_job(tmp_path):
    config = _Config(port=0, data_dir=tmp_path, min_ping_interval_s=SERVER_INTERVAL_S)
    server = DistillServer(config).start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            request = pb.SubmitJobRequest(spec=spec_to_proto(digits_spec()))
            job = pb_grpc.DistillerServiceStub(channel).SubmitJob(request)
        yield server, job.job_id
    finally:
        server.stop(grace=0)


def _client_options(keepalive_ms: int) -> list[tuple[str, int]]:
    """The Python client's own channel options, with its keepalive interval shortened."""
    options = dict(CHANNEL_OPTIONS)
    assert options["grpc.keepalive_time_ms"] == KEEPALIVE_MS >= 1.5 * 20_000  # the defaults
    options["grpc.keepalive_time_ms"] = keepalive_ms
    return list(options.items())


def _watch_quietly(port: int, job_id: str, options: list[tuple[str, int]]) -> grpc.StatusCode:
    """Holds WatchJob open for QUIET_S; the status it ends with and the events it got."""
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        stub = pb_grpc.DistillerServiceStub(channel)
        stream = stub.WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=QUIET_S)
        start = time.monotonic()
        try:
            for _ in stream:
                pass
        except grpc.RpcError as e:
            assert time.monotonic() - start >= QUIET_S - 0.5 or e.code() != grpc.StatusCode.OK
            return e.code()
    return grpc.StatusCode.OK


def test_a_quiet_watch_outlives_five_keepalive_intervals(quiet_job):
    """Fails (UNAVAILABLE after ~3 s) with the server's interval under a misspelled channel
    argument, as it was: C-core then keeps its 5-minute default."""
    server, job_id = quiet_job
    code = _watch_quietly(server.port, job_id, _client_options(CLIENT_INTERVAL_MS))
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED  # ended by its deadline, not a GOAWAY
