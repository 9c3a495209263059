"""The server as production runs it: restarts (kill -9 and SIGTERM), auth, TLS, dropped
downloads, many watchers, limits, metrics and logs. Servers are real processes on 127.0.0.1
(or the in-process session server), started and stopped by the tests."""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bridge import Dataset, Distiller, MlpConfig, QuantType, SpecError, Teacher, TrainingParams
from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
from bridge.errors import DistillError
from bridge.export.manifest import read_manifest, verify_files
from bridge.remote import RemoteClient
from bridge.wire import spec_to_proto
from tests.conftest import digits_spec
from tests.serverkit import CuttingProxy, children, make_certs, start_server, wait_gone

ONE_EPOCH = TrainingParams(epochs=1, batch_size=64, learning_rate=5e-3, seed=3)
LONG = TrainingParams(epochs=2000, seed=1)


@pytest.fixture(scope="module")
def zoo_ready(stub) -> None:
    """Trains digits-mlp into the session home once, so server processes can share it."""
    job = stub.SubmitJob(pb.SubmitJobRequest(spec=spec_to_proto(digits_spec(training=ONE_EPOCH))))
    final = list(stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=300))[-1]
    assert final.finished.state == pb.JOB_STATE_SUCCEEDED, final.finished.error


def _stub(channel: grpc.Channel) -> pb_grpc.DistillerServiceStub:
    return pb_grpc.DistillerServiceStub(channel)


def _submit(stub, spec) -> pb.Job:
    return stub.SubmitJob(pb.SubmitJobRequest(spec=spec_to_proto(spec)), timeout=60)


def _wait_stage(stub, job_id: str, stage: str, limit: float = 180) -> None:
    deadline = time.time() + limit
    # training reports its schedule stages as "train.<stage>"
    while not stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=10).stage.startswith(stage):
        assert time.time() < deadline, f"{job_id} never reached {stage}"
        time.sleep(0.2)


# ---------------------------------------------------------------- restarts


def test_kill9_of_the_server_then_restart_keeps_what_was_promised(zoo_ready, home, tmp_path):
    data = tmp_path / "data"
    srv = start_server(data, home)
    try:
        with grpc.insecure_channel(srv.target) as channel:
            stub = _stub(channel)
            done = _submit(stub, digits_spec(training=ONE_EPOCH))
            events_before = list(stub.WatchJob(pb.WatchJobRequest(job_id=done.job_id), timeout=300))
            assert events_before[-1].finished.state == pb.JOB_STATE_SUCCEEDED
            running = _submit(stub, digits_spec(training=LONG))
            queued = _submit(stub, digits_spec(training=ONE_EPOCH))
            _wait_stage(stub, running.job_id, "train")
        workers = children(srv.process.pid)
        assert workers, "no worker process found"
        srv.kill9()
        for pid in workers:  # the worker's watchdog ends it: no orphan trains on
            wait_gone(pid)
    finally:
        srv.stop()

    srv = start_server(data, home)
    try:
        client = RemoteClient(srv.target, plaintext=True)
        stub = client.stub
        jobs = {j.job_id: j for j in stub.ListJobs(pb.ListJobsRequest(), timeout=30).jobs}
        assert {done.job_id, running.job_id, queued.job_id} <= set(jobs)
        assert jobs[done.job_id].state == pb.JOB_STATE_SUCCEEDED
        assert jobs[running.job_id].state == pb.JOB_STATE_FAILED
        assert jobs[running.job_id].error == "interrupted by server restart"
        assert jobs[queued.job_id].state != pb.JOB_STATE_FAILED  # queued jobs survive and run
        replay = list(stub.WatchJob(pb.WatchJobRequest(job_id=done.job_id), timeout=30))
        assert replay == events_before
        failed = list(stub.WatchJob(pb.WatchJobRequest(job_id=running.job_id), timeout=30))
        assert failed[-1].finished.error == "interrupted by server restart"
        assert [e.sequence for e in failed] == list(range(len(failed)))
        out = client.download(done.job_id, list(jobs[done.job_id].result.files), tmp_path / "a")
        assert verify_files(out, read_manifest(out)) == []
        stub.CancelJob(pb.CancelJobRequest(job_id=queued.job_id), timeout=30)
        client.close()
    finally:
        srv.stop()
    logged = [json.loads(line) for line in srv.log.read_text().splitlines() if line.startswith("{")]
    assert any(entry.get("job_id") == done.job_id for entry in logged), "no log line with job_id"


def test_sigterm_ends_streams_records_states_and_exits_cleanly(zoo_ready, home, tmp_path):
    data = tmp_path / "data"
    srv = start_server(data, home)
    try:
        with grpc.insecure_channel(srv.target) as channel:
            stub = _stub(channel)
            running = _submit(stub, digits_spec(training=LONG))
            queued = _submit(stub, digits_spec(training=ONE_EPOCH))
            _wait_stage(stub, running.job_id, "train")
            stream = stub.WatchJob(pb.WatchJobRequest(job_id=queued.job_id), timeout=120)
            next(stream)  # attached: the replayed "queued" log event
            assert srv.terminate() == 0
            with pytest.raises(grpc.RpcError) as err:
                list(stream)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        srv.stop()
    srv = start_server(data, home)
    try:
        with grpc.insecure_channel(srv.target) as channel:
            stub = _stub(channel)
            job = stub.GetJob(pb.GetJobRequest(job_id=running.job_id), timeout=30)
            assert job.state == pb.JOB_STATE_FAILED and "shutdown" in job.error
            assert stub.GetJob(pb.GetJobRequest(job_id=queued.job_id)).state in (
                pb.JOB_STATE_QUEUED,
                pb.JOB_STATE_RUNNING,
                pb.JOB_STATE_SUCCEEDED,
            )
            stub.CancelJob(pb.CancelJobRequest(job_id=queued.job_id), timeout=30)
    finally:
        srv.stop()


# ---------------------------------------------------------------- auth and TLS


def test_auth_on_refuses_calls_without_the_token_but_not_health(zoo_ready, home, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    srv = start_server(tmp_path / "data", home, "--auth-token-file", str(token_file))
    try:
        with grpc.insecure_channel(srv.target) as channel:
            stub = _stub(channel)
            for metadata in ((), (("authorization", "Bearer wrong"),), (("authorization", "x"),)):
                with pytest.raises(grpc.RpcError) as err:
                    stub.ListTeachers(pb.ListTeachersRequest(), metadata=metadata, timeout=10)
                assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
                assert "bearer token" in err.value.details()
            with pytest.raises(grpc.RpcError) as err:
                stub.UploadDataset(iter([pb.UploadChunk(data=b"x")]), timeout=10)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            health = health_pb2_grpc.HealthStub(channel)
            status = health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
            assert status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(ValueError, match="allow_insecure_token=True"):
            RemoteClient(srv.target, plaintext=True, bearer_token="s3cret-token")  # before any call
        loopback = dict(plaintext=True, allow_insecure_token=True)
        with RemoteClient(srv.target, bearer_token="s3cret-token", **loopback) as client:
            assert any(t.name == "digits-mlp" for t in client.list_teachers())
        with (
            RemoteClient(srv.target, bearer_token="nope", **loopback) as client,
            pytest.raises(DistillError) as error,
        ):
            client.list_jobs()
        assert error.value.code == "UNAUTHENTICATED"
    finally:
        srv.stop()


def test_auth_off_needs_no_token(server):
    with RemoteClient(f"127.0.0.1:{server.port}", plaintext=True) as client:
        assert client.list_datasets()


def _digits_csv(path: Path, digits) -> Path:
    x, y = digits.train.x.reshape(len(digits.train.x), -1), digits.train.y
    header = ",".join(f"p{i}" for i in range(x.shape[1])) + ",label"
    rows = [",".join(f"{v:g}" for v in row) + f",{label}" for row, label in zip(x, y, strict=True)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_tls_with_client_certs_and_token_runs_an_uploaded_dataset_job(
    zoo_ready, home, tmp_path, digits
):
    certs = make_certs(tmp_path / "certs")
    token_file = tmp_path / "token"
    token_file.write_text("tls-token")
    srv = start_server(
        tmp_path / "data",
        home,
        *("--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key)),
        *("--tls-client-ca", str(certs.ca), "--auth-token-file", str(token_file)),
    )
    try:
        with grpc.insecure_channel(srv.target) as plain:  # plaintext to a TLS port
            with pytest.raises(grpc.RpcError) as err:
                _stub(plain).ListTeachers(pb.ListTeachersRequest(), timeout=10)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        no_client_cert = RemoteClient(
            srv.target, bearer_token="tls-token", trust_certificate=certs.ca
        )
        with no_client_cert, pytest.raises(DistillError) as error:
            no_client_cert.list_teachers()
        assert error.value.code == "UNAVAILABLE" and "client_certificate=" in str(error.value)

        csv = _digits_csv(tmp_path / "digits.csv", digits)
        options = dict(bearer_token="tls-token", trust_certificate=certs.ca)
        options.update(client_certificate=certs.client_cert, client_key=certs.client_key)
        with Distiller.remote(srv.target, **options) as distiller:
            result = (
                distiller.set_teacher("digits-mlp")
                .set_student_config(MlpConfig((16,)))
                .enable_quantization(QuantType.NONE)
                .distill(Dataset.upload(csv), ONE_EPOCH)
            )
            out = result.download(tmp_path / "artifact")
        assert verify_files(out, read_manifest(out)) == []
        job_spec = RemoteClient(srv.target, **options).get_job(result.job_id).spec
        assert job_spec.dataset.WhichOneof("source") == "upload_id"
        with Distiller.remote(srv.target, **options) as d, pytest.raises(SpecError) as spec_err:
            d.set_teacher(Teacher.uploaded("upl-00000000000000ff")).set_student_config(
                MlpConfig((8,))
            ).distill(Dataset.builtin("digits"), ONE_EPOCH)
        assert spec_err.value.code == "NOT_FOUND" and spec_err.value.field == "teacher.upload_id"
    finally:
        srv.stop()


# ---------------------------------------------------------------- uploads


def test_uploads_are_stored_whole_and_zips_unpack_into_a_model_directory(server, tmp_path):
    model_dir = tmp_path / "hf-model"
    (model_dir / "sub").mkdir(parents=True)
    (model_dir / "config.json").write_text('{"model_type": "bert"}')
    (model_dir / "sub" / "vocab.txt").write_text("[PAD]\nhello\n")
    with RemoteClient(f"127.0.0.1:{server.port}", plaintext=True) as client:
        result = client.upload_model(model_dir)  # zipped on the fly
        data = client.upload_dataset(_write_npz(tmp_path / "d.npz"))
    assert result.extracted and result.upload_id.startswith("upl-")
    stored = server.uploads.path_of(result.upload_id, pb.UPLOAD_KIND_MODEL, "teacher.upload_id")
    assert stored.is_dir() and (stored / "sub" / "vocab.txt").read_text() == "[PAD]\nhello\n"
    assert stored.is_relative_to(server.jobs.paths.data_dir / "uploads" / result.upload_id)
    path = server.uploads.path_of(data.upload_id, pb.UPLOAD_KIND_DATASET, "dataset.upload_id")
    assert path.read_bytes() == (tmp_path / "d.npz").read_bytes()
    with pytest.raises(SpecError):  # a dataset id is not a model id
        server.uploads.path_of(data.upload_id, pb.UPLOAD_KIND_MODEL, "teacher.upload_id")


def _write_npz(path: Path) -> Path:
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.normal(size=(60, 4)).astype(np.float32), y=np.arange(60) % 3)
    return path


# ---------------------------------------------------------------- dropped downloads


def test_a_dropped_download_resumes_from_its_offset_and_verifies(server, stub, tmp_path):
    # A wide student makes model.onnx span several 256 KiB chunks.
    spec = digits_spec(student=MlpConfig((2048,)), training=ONE_EPOCH, quantization=QuantType.NONE)
    job = _submit(stub, spec)
    final = list(stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=300))[-1].finished
    assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
    onnx = next(f for f in final.result.files if f.name == "model.onnx")
    assert onnx.size_bytes > 600_000
    resumed_before = server.metrics.value("distillbridge_downloads_total", resumed="true")
    proxy = CuttingProxy(server.port, cut_after=400_000)
    try:
        with RemoteClient(proxy.target, plaintext=True) as client:
            out = client.download(job.job_id, [onnx], tmp_path / "dl")
    finally:
        proxy.close()
    assert proxy.connections >= 2, "the connection was never cut"
    assert proxy.downstream_bytes[1] < onnx.size_bytes, "the second connection started over"
    assert server.metrics.value("distillbridge_downloads_total", resumed="true") > resumed_before
    assert (out / "model.onnx").stat().st_size == onnx.size_bytes
    assert not (out / "model.onnx.part").exists()
    assert hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest() == onnx.sha256


# ---------------------------------------------------------------- load


def test_50_concurrent_watch_streams_and_500_get_jobs(server, stub):
    job = _submit(stub, digits_spec(training=TrainingParams(epochs=15, seed=5)))

    def watch(_: int) -> list[pb.JobEvent]:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            return list(_stub(channel).WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=600))

    def get(_: int) -> int:
        return stub.GetJob(pb.GetJobRequest(job_id=job.job_id), timeout=60).state

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=70) as pool:
        watches = [pool.submit(watch, i) for i in range(50)]
        states = list(pool.map(get, range(500)))
        streams = [w.result() for w in watches]
    elapsed = time.monotonic() - started
    assert len(states) == 500 and all(s != pb.JOB_STATE_UNSPECIFIED for s in states)
    first = streams[0]
    assert first[-1].finished.state == pb.JOB_STATE_SUCCEEDED
    for events in streams:
        assert [e.sequence for e in events] == list(range(len(first)))
        assert events[-1] == first[-1]
    print(f"50 watchers x {len(first)} events + 500 GetJob in {elapsed:.1f}s")


# ---------------------------------------------------------------- limits, lifecycle, metrics


def test_queue_limit_deadlines_cancel_and_metrics(zoo_ready, home, tmp_path):
    from bridge.server import DistillServer, ServerConfig

    data = tmp_path / "data"
    data.mkdir()
    (data / "teachers").symlink_to(home / "teachers")
    srv = DistillServer(
        ServerConfig(port=0, data_dir=data, max_queued_jobs=1, metrics_port=0)
    ).start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
            stub = _stub(channel)
            running = _submit(stub, digits_spec(training=LONG))
            queued = _submit(stub, digits_spec(training=LONG))
            with pytest.raises(grpc.RpcError) as err:
                _submit(stub, digits_spec(training=LONG))
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "queue is full" in err.value.details()

            with pytest.raises(grpc.RpcError) as err:  # a deadline ends a stream server-side
                list(stub.WatchJob(pb.WatchJobRequest(job_id=queued.job_id), timeout=1.0))
            assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

            _wait_stage(stub, running.job_id, "train")
            worker = srv.jobs.get(running.job_id).execution.process
            stub.CancelJob(pb.CancelJobRequest(job_id=running.job_id))
            with pytest.raises(ProcessLookupError):  # the whole process group is gone
                os.killpg(worker.pid, 0)
            stub.CancelJob(pb.CancelJobRequest(job_id=queued.job_id))

            url = f"http://127.0.0.1:{srv.metrics_port}/metrics"
            text = urllib.request.urlopen(url, timeout=10).read().decode()
        assert "distillbridge_jobs_submitted_total 2.0" in text
        assert 'distillbridge_jobs_rejected_total{code="RESOURCE_EXHAUSTED"} 1.0' in text
        assert 'distillbridge_jobs_finished_total{state="cancelled"} 2.0' in text
        assert "distillbridge_job_duration_seconds_bucket" in text
    finally:
        srv.stop(grace=1)
