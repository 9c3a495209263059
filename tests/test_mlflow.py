"""Every job in MLflow (issue 18), against a real MLflow tracking server started here on
127.0.0.1 (SQLite backend, local artifact store, one per module), read back with MLflow's own
client: runs, params, metric histories, artifacts, registered versions, tags and aliases; a
tracking server that stops mid-job leaves the job SUCCEEDED with a warning."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import mlflow  # the mlflow extra, part of dev (make setup installs it)
import pytest
from mlflow import MlflowClient

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
from bridge.api import Distiller
from bridge.cli import main
from bridge.events import LogEvent, ProgressEvent, StageEvent, ValidationEvent
from bridge.export.manifest import read_manifest, verify_files
from bridge.spec import DistillSpec, QuantType, SpecError, TrainingParams
from bridge.tracking import (
    Finished,
    JobTracker,
    MlflowSettings,
    flatten_params,
    registry_name,
)
from bridge.wire import spec_to_proto
from tests.conftest import FAST, digits_spec
from tests.serverkit import children, share_zoo_cache, start_server, wait_gone

# One MLflow server for the module: its tests run on one xdist worker, in order (make test-python
# gives each worker whole files; the group keeps that under --dist loadgroup too).
pytestmark = pytest.mark.xdist_group("mlflow")

WEAK = TrainingParams(epochs=1, batch_size=64, learning_rate=2e-4, seed=3)
MODEL = "digits-kd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MlflowServer:
    """`mlflow server` in its own process group; `stop()` mid-test, `ensure_started()` again."""

    directory: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ensure_started(self) -> str:
        if self.process is not None and self.process.poll() is None:
            return self.uri
        self.port = _free_port()
        store = self.directory / "artifacts"
        cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--workers", "1", "--serve-artifacts"]
        cmd += ["--backend-store-uri", f"sqlite:///{self.directory / 'mlflow.db'}"]
        cmd += ["--default-artifact-root", str(store), "--artifacts-destination", str(store)]
        log = (self.directory / "mlflow-server.log").open("ab")
        self.process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.time() + 120
        while True:
            assert self.process.poll() is None, (self.directory / "mlflow-server.log").read_text()
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return self.uri
            except OSError:
                pass
            assert time.time() < deadline, "the MLflow server did not start in 120 s"
            time.sleep(0.25)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # uvicorn's workers too
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory) -> Iterator[MlflowServer]:
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    server.ensure_started()
    yield server
    server.stop()


@pytest.fixture
def uri(mlflow_server) -> str:
    return mlflow_server.ensure_started()


@pytest.fixture(scope="module")
def tracked_server(mlflow_server, tmp_path_factory, home):
    """A DistillServer that records every job in the module's MLflow server (alias champion)."""
    from bridge.server import DistillServer, ServerConfig

    data_dir = tmp_path_factory.mktemp("tracked-server")
    share_zoo_cache(home, data_dir)
    settings = MlflowSettings(mlflow_server.ensure_started(), alias="champion")
    srv = DistillServer(ServerConfig(port=0, data_dir=data_dir, mlflow=settings)).start()
    with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
        yield srv, pb_grpc.DistillerServiceStub(channel)
    srv.stop(grace=1)


def _run_job(stub, spec: DistillSpec) -> tuple[pb.Job, list[pb.JobEvent]]:
    job = stub.SubmitJob(pb.SubmitJobRequest(spec=spec_to_proto(spec)))
    events = list(stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=300))
    return stub.GetJob(pb.GetJobRequest(job_id=job.job_id)), events


def _logs(events: list[pb.JobEvent]) -> list[pb.LogEvent]:
    return [e.log for e in events if e.HasField("log")]


def _mlflow_errors(srv) -> float:
    return sum(
        srv.metrics.value("distillbridge_mlflow_errors_total", operation=op)
        for op in ("start_run", "log_metrics", "finish_run")
    )


def test_settings_and_names_are_checked_and_params_flattened():
    with pytest.raises(SpecError) as e:
        MlflowSettings("localhost:5000").check()
    assert e.value.field == "--mlflow-tracking-uri"
    with pytest.raises(SpecError) as e:
        MlflowSettings("http://h:5000", alias="latest").check("uri", "alias")
    assert e.value.field == "alias"
    with pytest.raises(SpecError) as e:
        digits_spec(registered_model_name="team/model").validate()
    assert e.value.field == "registered_model_name"
    with pytest.raises(SpecError) as e:
        digits_spec(registered_model_name="model ").validate()
    assert e.value.field == "registered_model_name"
    with pytest.raises(SpecError) as e:
        Distiller(mlflow_tracking_uri="mlflow.internal")
    assert e.value.field == "mlflow_tracking_uri"
    with pytest.raises(SpecError) as e:
        Distiller(mlflow_alias="champion")  # without a tracking URI it could not take effect
    assert e.value.field == "mlflow_alias"
    assert registry_name(digits_spec(registered_model_name="x.y z")) == "x.y z"
    assert registry_name(digits_spec(name="a:b")) == "a-b"
    assert registry_name(digits_spec()) == "digits-mlp-student"
    flat = flatten_params(digits_spec(training=FAST).to_dict())
    assert flat["training.temperature"] == "None" and flat["training.epochs"] == "4"
    assert flat["student.hidden_sizes"] == "[32]" and flat["gates.max_parity_error"] == "0.0001"


class _SlowRegistry:
    """The alias calls of MlflowClient, with a read slow enough that two unguarded decisions
    both see the same holder."""

    def __init__(self, tags: dict[str, dict[str, str]]) -> None:
        self.tags = tags
        self.holder: str | None = None

    def get_model_version_by_alias(self, name: str, alias: str):
        from types import SimpleNamespace

        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

        holder = self.holder
        time.sleep(0.3)
        if holder is None:
            raise MlflowException("no such alias", error_code=RESOURCE_DOES_NOT_EXIST)
        return SimpleNamespace(version=holder, tags=self.tags[holder])

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.holder = version


def test_two_jobs_finishing_together_leave_the_alias_on_the_better_version():
    """Both used to read 'no holder' and the later write won; the decisions now take turns."""
    import threading

    split = "digits-test-split"
    tags = {
        v: {"distillbridge.test_accuracy": acc, "distillbridge.test_split": split}
        for v, acc in (("1", "0.9"), ("2", "0.8"))
    }
    registry = _SlowRegistry(tags)
    settings = MlflowSettings("http://127.0.0.1:1", alias="champion")
    decisions: list[str] = []

    def decide(version: str, accuracy: float) -> None:
        tracker = JobTracker(settings, digits_spec(), f"job-{version}", lambda _e: None)
        tracker._client = registry
        decisions.append(tracker._decide_alias(MODEL, version, accuracy, split))

    better = threading.Thread(target=decide, args=("1", 0.9))
    better.start()
    time.sleep(0.1)  # the worse one asks while the better one is still deciding
    worse = threading.Thread(target=decide, args=("2", 0.8))
    worse.start()
    better.join()
    worse.join()
    assert registry.holder == "1", decisions
    assert "stays on version 1" in decisions[1]


def test_an_unreachable_tracking_server_costs_one_warning_and_never_blocks():
    port = _free_port()  # nothing listens there
    seen: list[object] = []
    errors: list[str] = []
    tracker = JobTracker(
        MlflowSettings(f"http://127.0.0.1:{port}", finish_timeout_s=30),
        digits_spec(),
        "job-000000000000",
        seen.append,
        errors.append,
    ).start()
    began = time.monotonic()
    for epoch in range(1, 2001):  # far more than the queue holds: observe never waits
        tracker.observe(ProgressEvent(epoch, 2000, 1, 1, 0.5, 0.3, 0.2, 1e-3, 4.0, 0.5))
        tracker.observe(StageEvent("train.distill"))
        tracker.observe(ValidationEvent(epoch, 0.9, 0.3, False))
    assert time.monotonic() - began < 2.0
    tracker.finish(Finished("FINISHED", {"student_accuracy": 0.9}))
    assert tracker.close(timeout=30)
    warnings = [e for e in seen if isinstance(e, LogEvent) and e.level == "WARNING"]
    assert len(warnings) == 1 and "starting the run failed" in warnings[0].message
    assert errors == ["start_run"] and tracker.run is None


def test_without_the_option_mlflow_is_never_imported_and_missing_it_is_named(monkeypatch):
    code = "import sys, bridge.cli, bridge.server, bridge.api; print('mlflow' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "mlflow" else real(n, *a)
    )
    with pytest.raises(SpecError) as e:
        MlflowSettings("http://127.0.0.1:5000").check()
    assert e.value.field == "--mlflow-tracking-uri" and "mlflow package" in str(e.value)


def test_a_registered_model_name_where_nothing_is_tracked_is_refused_naming_it(server, home):
    """Without tracking the name could not take effect: the job is refused, never run."""
    from bridge import Dataset, MlpConfig

    doors = {
        "local": (Distiller(home=home), "Distiller(mlflow_tracking_uri=...)"),
        "server": (
            Distiller.remote(f"127.0.0.1:{server.port}", plaintext=True),
            "--mlflow-tracking-uri",
        ),
    }
    for door, (distiller, remedy) in doors.items():
        with distiller, pytest.raises(SpecError) as e:
            distiller.set_teacher("digits-mlp").set_student_config(
                MlpConfig((8,))
            ).set_registered_model_name(MODEL).distill(Dataset.builtin("digits"), WEAK)
        assert e.value.code == "INVALID_ARGUMENT", door
        assert "registered_model_name" in str(e.value) and remedy in str(e.value), door


def test_a_local_cli_run_is_tracked_too(uri, home, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DISTILL_BRIDGE_HOME", str(home))  # the session's zoo, not ~
    argv = ["distill", "--teacher", "digits-mlp", "--dataset", "digits", "--mlp", "16"]
    argv += ["--epochs", "2", "--seed", "3", "--name", "cli/run: 1", "--out", str(tmp_path / "a")]
    assert main([*argv, "--mlflow-tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("mlflow run: "))
    run_id = line.rsplit("/", 1)[-1]
    client = MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.params["training.epochs"] == "2"
    assert run.data.tags["distillbridge.job_id"].startswith("local-")
    # no registered_model_name: the spec's name, made safe for the registry ('/' and ':')
    versions = client.search_model_versions(f"run_id='{run_id}'")
    assert [v.name for v in versions] == ["cli-run- 1"]


# The zoo teacher is in the session's home by now (the CLI run trained it there): the
# tracked server's data dir links it.
def test_each_job_is_a_run_and_a_registered_version_that_takes_the_alias_when_better(
    tracked_server, tmp_path
):
    srv, stub = tracked_server
    named = dict(name="digits kd", registered_model_name=MODEL)
    # weak first (takes the free alias), then strong (beats it), through the Python client
    jobs = [_run_job(stub, digits_spec(quantization=QuantType.NONE, training=WEAK, **named))]
    with Distiller.remote(f"127.0.0.1:{srv.port}", plaintext=True) as remote:
        result = remote.run_spec(digits_spec(**named))
    replay = stub.WatchJob(pb.WatchJobRequest(job_id=result.job_id), timeout=60)
    jobs.append((stub.GetJob(pb.GetJobRequest(job_id=result.job_id)), list(replay)))
    assert result.mlflow_run is not None and result.mlflow_run.model_version == "2"
    assert result.mlflow_run.run_id == jobs[1][0].mlflow_run.run_id
    client = MlflowClient(srv.config.mlflow.tracking_uri)
    for version, (job, events) in enumerate(jobs, start=1):
        assert job.state == pb.JOB_STATE_SUCCEEDED, job.error
        runs = [e.mlflow_run for e in events if e.HasField("mlflow_run")]
        assert [r.model_version for r in runs] == ["", str(version)]  # created, then registered
        assert job.mlflow_run == runs[-1] and job.mlflow_run.registered_model_name == MODEL
        assert job.mlflow_run.run_url == (
            f"{srv.config.mlflow.tracking_uri}/#/experiments/{job.mlflow_run.experiment_id}"
            f"/runs/{job.mlflow_run.run_id}"
        )
        assert not [m for m in _logs(events) if m.level == "WARNING" and "MLflow" in m.message]
    (weak, _), (strong, strong_events) = jobs
    run = client.get_run(strong.mlflow_run.run_id)
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["training.epochs"] == "4" and params["training.learning_rate"] == "0.005"
    assert params["student.hidden_sizes"] == "[32]" and params["dataset.name"] == "digits"
    assert params["registered_model_name"] == MODEL and params["quantization"] == "int8"
    assert params["training.schedule"] == "progressive" and params["training.seed"] == "3"
    tags = run.data.tags
    assert tags["distillbridge.job_id"] == strong.job_id and tags["mlflow.runName"].startswith(
        "digits kd"
    )
    assert (tags["distillbridge.teacher"], tags["distillbridge.dataset"]) == (
        "digits-mlp",
        "digits",
    )
    assert tags["distillbridge.student_kind"] == "mlp" and tags["distillbridge.version"]
    assert tags["distillbridge.schedule_stages"] == "0:warmup 1:distill 2:finetune"
    validations = [e.validation for e in strong_events if e.HasField("validation")]
    history = client.get_metric_history(run.info.run_id, "val_accuracy")
    assert [(m.step, m.value) for m in history] == [(v.epoch, v.accuracy) for v in validations]
    for name in ("train_loss", "val_loss", "temperature", "alpha", "schedule_stage"):
        assert [m.step for m in client.get_metric_history(run.info.run_id, name)] == [1, 2, 3, 4]
    stages = client.get_metric_history(run.info.run_id, "schedule_stage")
    values = [m.value for m in stages]  # the stage each epoch ended in: ... 2 = finetune
    assert values == sorted(values) and values[-1] == 2 and values[0] < 2
    for key, value in strong.result.metrics.items():  # the pipeline's whole result dict
        assert run.data.metrics[key] == pytest.approx(value), key
    assert "retention_ci_low_pct" in run.data.metrics

    def listed(path: str = "") -> set[str]:
        return {a.path for a in client.list_artifacts(run.info.run_id, path)}

    assert {"manifest.json", "report", "model"} <= listed()
    assert listed("report") == {"report/report.md", "report/loss_curves.png"}
    assert listed("model") == {
        "model/manifest.json",
        "model/model.onnx",
        "model/model.int8.onnx",
        "model/report",
    }

    # The registered version is the artifact: its files match the manifest's SHA-256.
    version = client.get_model_version(MODEL, "2")
    assert version.run_id == run.info.run_id
    manifest = json.loads(strong.result.manifest_json)
    assert version.tags["distillbridge.job_id"] == strong.job_id
    assert version.tags["distillbridge.shipped_model"] == "model.int8.onnx"
    assert float(version.tags["distillbridge.test_accuracy"]) == pytest.approx(
        strong.result.metrics["student_int8_accuracy"]
    )
    for name, entry in manifest["files"].items():
        assert version.tags[f"sha256.{name}"] == entry["sha256"]
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=client.get_model_version_download_uri(MODEL, "2"),
            dst_path=str(tmp_path),
            tracking_uri=srv.config.mlflow.tracking_uri,
        )
    )
    assert verify_files(local, read_manifest(local)) == []

    # The alias: free -> v1; v2 beats v1 -> v2.
    assert strong.result.metrics["student_int8_accuracy"] > weak.result.metrics["student_accuracy"]
    decisions = [[m.message for m in _logs(e) if "'champion'" in m.message] for _, e in jobs]
    assert "moves to version 1" in decisions[0][0] and "no version held it" in decisions[0][0]
    assert "moves to version 2" in decisions[1][0] and "from version 1" in decisions[1][0]
    assert client.get_model_version_by_alias(MODEL, "champion").version == "2"

    # Two more versions of the same artifact, no second training: one less accurate, one more
    # accurate but measured on another test split: neither takes the alias.
    artifact = srv.config.data_dir / "jobs" / strong.job_id / "artifact"
    worse = {**strong.result.metrics, "student_int8_accuracy": 0.5}
    better = {**strong.result.metrics, "student_int8_accuracy": 0.999}
    other_split = {**manifest, "dataset": {**manifest["dataset"], "fingerprint": "0" * 64}}
    said = []
    for metrics, facts in ((worse, manifest), (better, other_split)):
        tracker = JobTracker(
            srv.config.mlflow, digits_spec(**named), "job-0123456789ab", said.append
        ).start()
        tracker.finish(Finished("FINISHED", metrics, artifact, facts))
        assert tracker.close(timeout=60)
    decisions = [e.message for e in said if isinstance(e, LogEvent) and "'champion'" in e.message]
    assert "stays on version 2" in decisions[0] and "0.5000" in decisions[0]
    assert "stays on version 2" in decisions[1] and "another test split" in decisions[1]
    assert client.get_model_version_by_alias(MODEL, "champion").version == "2"
    versions = client.search_model_versions(f"name='{MODEL}'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3, 4]
    assert _mlflow_errors(srv) == 0


def test_a_run_left_open_by_a_killed_server_ends_failed_when_the_server_restarts(
    uri, home, tmp_path
):
    from bridge.server import DistillServer, ServerConfig

    data = tmp_path / "data"
    srv = start_server(data, home, "--mlflow-tracking-uri", uri)
    try:
        with grpc.insecure_channel(srv.target) as channel:
            stub = pb_grpc.DistillerServiceStub(channel)
            spec = digits_spec(training=TrainingParams(epochs=2000, seed=1))
            job = stub.SubmitJob(pb.SubmitJobRequest(spec=spec_to_proto(spec)))
            stream = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=180)
            run_id = next(e.mlflow_run.run_id for e in stream if e.HasField("mlflow_run"))
            stream.cancel()
        client = MlflowClient(tracking_uri=uri)
        assert client.get_run(run_id).info.status == "RUNNING"
        workers = children(srv.process.pid)
        srv.kill9()
        for pid in workers:  # the worker's watchdog ends it
            wait_gone(pid)
    finally:
        srv.stop()

    restarted = DistillServer(
        ServerConfig(port=0, data_dir=data, mlflow=MlflowSettings(uri))
    ).start()
    try:
        assert restarted.jobs.get(job.job_id).state == pb.JOB_STATE_FAILED
        deadline = time.time() + 60
        while client.get_run(run_id).info.status == "RUNNING":
            assert time.time() < deadline, "the interrupted run is still RUNNING after 60 s"
            time.sleep(0.5)
        run = client.get_run(run_id)
        assert run.info.status == "FAILED"
        assert run.data.tags["distillbridge.error"] == "interrupted by server restart"
        assert _mlflow_errors(restarted) == 0
    finally:
        restarted.stop(grace=1)


def test_a_tracking_server_stopped_mid_job_leaves_the_job_succeeded_with_a_warning(
    tracked_server, mlflow_server
):
    srv, stub = tracked_server
    before = _mlflow_errors(srv)
    spec = digits_spec(
        training=TrainingParams(epochs=10, batch_size=64, learning_rate=5e-3, seed=3)
    )
    job = stub.SubmitJob(pb.SubmitJobRequest(spec=spec_to_proto(spec)))
    events: list[pb.JobEvent] = []
    stopped_at: list[str] = []
    for event in stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=300):
        events.append(event)
        if event.HasField("mlflow_run") and not stopped_at:
            stopped_at.append(stub.GetJob(pb.GetJobRequest(job_id=job.job_id)).stage)
            mlflow_server.stop()
    final = stub.GetJob(pb.GetJobRequest(job_id=job.job_id))
    assert stopped_at and stopped_at[0] not in ("done", "verify", "measure", "jvm")
    assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
    warnings = [m for m in _logs(events) if m.level == "WARNING" and m.message.startswith("MLflow")]
    assert len(warnings) == 1 and "goes on without MLflow tracking" in warnings[0].message
    assert final.mlflow_run.run_id and not final.mlflow_run.model_version
    assert _mlflow_errors(srv) == before + 1
    # the job's end did not wait on the dead server: 'done' stage to the finished event
    done = next(e for e in events if e.HasField("stage") and e.stage.stage == "done")
    assert events[-1].time.seconds - done.time.seconds < 10
    assert job.job_id in [j.job_id for j in stub.ListJobs(pb.ListJobsRequest()).jobs]
