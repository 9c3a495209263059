"""The server over real gRPC on 127.0.0.1: jobs, streaming, downloads, catalogues, errors."""

from __future__ import annotations

import hashlib
import json
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bridge import Dataset, Distiller, MlpConfig, QuantType, SpecError, TrainingParams
from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.export.manifest import verify_files
from bridge.wire import spec_to_proto
from tests.conftest import FAST, digits_spec


def _submit(stub, spec) -> pb.Job:
    return stub.SubmitJob(pb.SubmitJobRequest(spec=spec_to_proto(spec)))


def _watch(stub, job_id, from_sequence=0) -> list[pb.JobEvent]:
    return list(
        stub.WatchJob(pb.WatchJobRequest(job_id=job_id, from_sequence=from_sequence), timeout=300)
    )


@pytest.fixture(scope="module")
def finished_job(stub):
    job = _submit(stub, digits_spec())
    events = _watch(stub, job.job_id)
    return stub.GetJob(pb.GetJobRequest(job_id=job.job_id)), events


def test_job_runs_and_streams_events_ending_with_the_result(finished_job):
    job, events = finished_job
    assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
    assert [e.sequence for e in events] == list(range(len(events)))
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[-1] == "finished" and kinds.count("finished") == 1
    assert {"stage", "progress", "validation", "log"} <= set(kinds)
    final = events[-1].finished
    assert final.state == pb.JOB_STATE_SUCCEEDED
    assert final.result.metrics["student_int8_accuracy"] > 0.8
    assert {f.name for f in final.result.files} == {
        "manifest.json",
        "model.onnx",
        "model.int8.onnx",
        "report/loss_curves.png",
        "report/report.md",
    }
    assert json.loads(job.result.manifest_json)["job_id"] == job.job_id
    assert job.started_at.seconds and job.finished_at.seconds


def test_watch_replays_from_a_sequence(stub, finished_job):
    job, events = finished_job
    tail = _watch(stub, job.job_id, from_sequence=len(events) - 2)
    assert [e.sequence for e in tail] == [len(events) - 2, len(events) - 1]


def test_download_streams_chunks_with_size_and_hash_and_resumes(stub, finished_job):
    job, _ = finished_job
    entry = next(f for f in job.result.files if f.name == "model.onnx")
    whole = b"".join(
        c.data
        for c in stub.DownloadArtifact(
            pb.DownloadArtifactRequest(job_id=job.job_id, file_name="model.onnx")
        )
    )
    assert len(whole) == entry.size_bytes
    assert hashlib.sha256(whole).hexdigest() == entry.sha256
    resumed = list(
        stub.DownloadArtifact(
            pb.DownloadArtifactRequest(job_id=job.job_id, file_name="model.onnx", offset=1000)
        )
    )
    assert resumed[0].offset == 1000 and resumed[0].total_size == entry.size_bytes
    assert resumed[0].sha256 == entry.sha256
    assert whole[:1000] + b"".join(c.data for c in resumed) == whole


def test_python_remote_distiller_round_trip(server, tmp_path):
    events = []
    with Distiller.remote(f"127.0.0.1:{server.port}", plaintext=True) as distiller:
        result = (
            distiller.set_teacher("digits-mlp")
            .set_student_config(MlpConfig((24,)))
            .enable_quantization(QuantType.INT8)
            .on_event(events.append)
            .distill(Dataset.builtin("digits"), FAST)
        )
        out = result.download(tmp_path / "artifact")
    assert result.job_id.startswith("job-")
    manifest = json.loads((out / "manifest.json").read_text())
    assert verify_files(out, manifest) == []  # report files included, by hash
    assert result.report_directory == out / "report"
    assert (out / "report" / "loss_curves.png").stat().st_size > 0
    acc = f"{manifest['metrics']['student_int8_accuracy']:.4f}"
    assert acc in (out / "report" / "report.md").read_text()
    assert result.metrics["student_int8_accuracy"] > 0.75
    assert any(type(e).__name__ == "ValidationEvent" for e in events)


def _code(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code(), err.value.details()


@pytest.mark.parametrize(
    ("spec", "code", "field"),
    [
        (digits_spec(teacher="no-such-teacher"), grpc.StatusCode.NOT_FOUND, "teacher.reference"),
        (
            digits_spec(training=TrainingParams(epochs=-3)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "training.epochs",
        ),
        (
            digits_spec(student=MlpConfig(())),
            grpc.StatusCode.INVALID_ARGUMENT,
            "student.mlp.hidden_sizes",
        ),
        (
            digits_spec(dataset=Dataset.builtin("no-such-data")),
            grpc.StatusCode.NOT_FOUND,
            "dataset.builtin",
        ),
        (
            digits_spec(dataset=Dataset.from_path("missing.csv")),
            grpc.StatusCode.NOT_FOUND,
            "dataset.path",
        ),
        (
            digits_spec(dataset=Dataset.from_path("../../etc/passwd")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "dataset.path",
        ),
        (
            digits_spec(teacher="/etc/passwd.pt"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "teacher.reference",
        ),
        (
            digits_spec(teacher="german-credit-mlp"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "teacher.reference",
        ),
    ],
)
def test_bad_specs_get_the_right_status_naming_the_field(stub, spec, code, field):
    got, message = _code(lambda: _submit(stub, spec))
    assert got == code
    assert message.startswith(field + ":"), message


def test_spec_without_student_and_unknown_ids(stub):
    msg = spec_to_proto(digits_spec())
    msg.ClearField("student")
    assert (
        _code(lambda: stub.SubmitJob(pb.SubmitJobRequest(spec=msg)))[0]
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    for call in (
        lambda: stub.GetJob(pb.GetJobRequest(job_id="job-nope")),
        lambda: stub.CancelJob(pb.CancelJobRequest(job_id="job-nope")),
        lambda: list(stub.WatchJob(pb.WatchJobRequest(job_id="job-nope"))),
        lambda: list(stub.DownloadArtifact(pb.DownloadArtifactRequest(job_id="job-nope"))),
    ):
        code, message = _code(call)
        assert code == grpc.StatusCode.NOT_FOUND and "job_id" in message
    assert _code(lambda: stub.GetJob(pb.GetJobRequest()))[0] == grpc.StatusCode.INVALID_ARGUMENT


def test_download_errors(stub, finished_job):
    job, _ = finished_job
    code, message = _code(
        lambda: list(
            stub.DownloadArtifact(
                pb.DownloadArtifactRequest(job_id=job.job_id, file_name="../../etc/passwd")
            )
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND and "file_name" in message
    code, _ = _code(
        lambda: list(
            stub.DownloadArtifact(
                pb.DownloadArtifactRequest(job_id=job.job_id, file_name="model.onnx", offset=10**12)
            )
        )
    )
    assert code == grpc.StatusCode.OUT_OF_RANGE


def test_remote_errors_raise_the_same_spec_error_as_local(server):
    target = f"127.0.0.1:{server.port}"
    with Distiller.remote(target, plaintext=True) as d, pytest.raises(SpecError) as err:
        d.set_teacher("nope").set_student_config(MlpConfig((8,))).distill(
            Dataset.builtin("digits"), FAST
        )
    assert err.value.code == "NOT_FOUND" and err.value.field == "teacher.reference"


def test_cancel_ends_the_worker_and_the_queue_moves_on(stub, server):
    slow = _submit(stub, digits_spec(training=TrainingParams(epochs=2000, seed=1)))
    queued = _submit(stub, digits_spec())
    deadline = time.time() + 120
    while not stub.GetJob(pb.GetJobRequest(job_id=slow.job_id)).stage.startswith("train"):
        assert time.time() < deadline, "job never reached training"
        time.sleep(0.2)
    record = server.jobs.get(slow.job_id)
    cancelled = stub.CancelJob(pb.CancelJobRequest(job_id=slow.job_id))
    assert cancelled.state == pb.JOB_STATE_CANCELLED
    record.execution.process.join(timeout=10)
    assert not record.execution.process.is_alive()
    events = _watch(stub, slow.job_id)
    assert events[-1].finished.state == pb.JOB_STATE_CANCELLED
    assert _watch(stub, queued.job_id)[-1].finished.state == pb.JOB_STATE_SUCCEEDED
    code, _ = _code(
        lambda: list(
            stub.DownloadArtifact(
                pb.DownloadArtifactRequest(job_id=slow.job_id, file_name="model.onnx")
            )
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION


def test_worker_crash_fails_the_job_and_the_server_serves_on(stub, server):
    import os
    import signal

    job = _submit(stub, digits_spec(training=TrainingParams(epochs=2000, seed=2)))
    deadline = time.time() + 120
    while not stub.GetJob(pb.GetJobRequest(job_id=job.job_id)).stage.startswith("train"):
        assert time.time() < deadline
        time.sleep(0.2)
    os.kill(server.jobs.get(job.job_id).execution.process.pid, signal.SIGKILL)
    final = _watch(stub, job.job_id)[-1].finished
    assert final.state == pb.JOB_STATE_FAILED
    assert "worker process died" in final.error
    assert len(stub.ListTeachers(pb.ListTeachersRequest()).teachers) >= 4


def test_catalogues_health_and_listing(stub, server, finished_job):
    teachers = {t.name: t for t in stub.ListTeachers(pb.ListTeachersRequest()).teachers}
    assert {"german-credit-mlp", "fashion-mnist-cnn", "digits-mlp", "digits-cnn"} <= set(teachers)
    assert teachers["digits-mlp"].cached and teachers["digits-mlp"].parameters > 0
    datasets = {d.name: d for d in stub.ListDatasets(pb.ListDatasetsRequest()).datasets}
    assert list(datasets["digits"].input_shape) == [1, 8, 8] and datasets["digits"].available
    job, _ = finished_job
    done = stub.ListJobs(pb.ListJobsRequest(state=pb.JOB_STATE_SUCCEEDED)).jobs
    assert job.job_id in {j.job_id for j in done}
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        status = health.Check(
            health_pb2.HealthCheckRequest(service="distillbridge.v1.DistillerService")
        ).status
        assert status == health_pb2.HealthCheckResponse.SERVING
