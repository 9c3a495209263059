"""`serve --executor ray` on a real Ray cluster started here: a head without CPUs and two worker
nodes of two CPUs each, all on this machine. Jobs spread over the nodes, their inputs travel
through the object store, cancel and node loss end what ran there, a lost job is retried once
when asked, and a 2-worker job trains with Ray Train across both nodes."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import numpy as np
import pytest
from ray.cluster_utils import Cluster

from bridge import Dataset, DistillSpec, TrainingParams
from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
from bridge.data import load_dataset
from bridge.export.manifest import artifact_members, read_manifest, verify_files
from bridge.wire import spec_to_proto
from tests.conftest import digits_spec
from tests.serverkit import start_server

# Its own Ray cluster of three nodes on these cores: never beside other tests (xdist).
pytestmark = pytest.mark.serial

NODE_CPUS = 2
ADD_ATTEMPTS = 3
RUNNING_ON = re.compile(r"running on Ray node \S+ \((\w+)\), worker pid (\d+)")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for _ in range(2):
        _add(cluster)
    yield cluster
    cluster.shutdown()


@contextlib.contextmanager
def _server(
    cluster: Cluster, data_root: Path, retries: int = 0, cpus: float = NODE_CPUS
) -> Iterator[tuple[pb_grpc.DistillerServiceStub, Path]]:
    """`distill-bridge serve --executor ray` in its own process, as a user runs it (the Ray
    driver lives there, not in pytest), whose jobs each take `cpus` (default: a whole node, so
    two jobs cannot share one). Yields a stub and the server's data dir."""
    data_dir = data_root.parent / f"server-{retries}-{cpus:g}"
    flags = ["--data-root", str(data_root), "--max-concurrent-jobs", "3", "--executor", "ray"]
    flags += ["--ray-address", cluster.address, "--ray-cpus", f"{cpus:g}"]
    flags += ["--ray-node-home", str(_node_home(data_root)), "--job-retries", str(retries)]
    server = start_server(data_dir, data_root.parent / "no-zoo-cache", *flags)
    try:
        with grpc.insecure_channel(server.target) as channel:
            yield pb_grpc.DistillerServiceStub(channel), data_dir
    finally:
        assert server.terminate() == 0, server.log.read_text()[-3000:]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A digits CSV under the server's data root: a user file the nodes never see on disk."""
    root = tmp_path_factory.mktemp("ray-server") / "files"
    root.mkdir()
    digits = load_dataset(Dataset.builtin("digits"), None)
    x = np.concatenate([digits.train.x, digits.val.x, digits.test.x]).reshape(-1, 64)
    y = np.concatenate([digits.train.y, digits.val.y, digits.test.y])
    header = ",".join(f"p{i}" for i in range(x.shape[1])) + ",label"
    rows = [",".join(f"{v:g}" for v in row) + f",{label}" for row, label in zip(x, y, strict=True)]
    (root / "digits.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    return root


@pytest.fixture
def served(cluster, data_root) -> Iterator[tuple[pb_grpc.DistillerServiceStub, Path]]:
    with _server(cluster, data_root) as served:
        yield served


def _from_file(seed: int, epochs: int = 4) -> DistillSpec:
    """Digits from the CSV under the data root (every job here reads it, so the nodes train the
    zoo teacher once for these data)."""
    training = TrainingParams(epochs=epochs, batch_size=64, learning_rate=5e-3, seed=seed)
    return digits_spec(dataset=Dataset.from_path("digits.csv"), training=training)


def _submit(stub, spec) -> str:
    return stub.SubmitJob(pb.SubmitJobRequest(spec=spec_to_proto(spec))).job_id


def _events(stub, job_id) -> list[pb.JobEvent]:
    """The job's whole event stream; a stream that breaks fails naming its status and the
    events it had delivered (an early end under heavy load was once left unexplained)."""
    seen: list[pb.JobEvent] = []
    try:
        seen.extend(stub.WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=600))
    except grpc.RpcError as e:
        delivered = [str(event).replace("\n", " ") for event in seen]
        pytest.fail(f"WatchJob({job_id}) ended with {e.code()}: {e.details()}; got {delivered}")
    return seen


def _placement(stub, job_id, timeout=300.0) -> tuple[str, int]:
    """(node id prefix, worker pid) from the job's "running on" event: its worker has started."""
    seen = []
    try:
        for event in stub.WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=timeout):
            if event.HasField("log") or event.HasField("finished"):
                seen.append(event.log.message or event.finished.error)
            if placed := _running_on(event):
                return placed
    except grpc.RpcError as e:
        seen.append(f"WatchJob ended: {e.code()}")
    raise AssertionError(f"{job_id}: no 'running on Ray node' event in {seen}")


def _running_on(event: pb.JobEvent) -> tuple[str, int] | None:
    found = RUNNING_ON.search(event.log.message) if event.HasField("log") else None
    return (found.group(1), int(found.group(2))) if found else None


def _gone(pid: int, timeout: float = 15.0) -> bool:
    """The worker's process group no longer exists."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def _node_home(data_root: Path) -> Path:
    """Every node's zoo cache and work directory (the nodes share this machine)."""
    return data_root.parent / "node-home"


def _work_dirs(data_root: Path, job_id: str) -> list[str]:
    """What the job's agents left on the nodes."""
    return glob.glob(str(_node_home(data_root) / "ray-work" / f"{job_id}.*"))


def _remove(cluster: Cluster, node_prefix: str) -> None:
    """Removes the worker node and waits until the cluster counts it dead, so no later actor
    is placed on it."""
    cluster.remove_node(next(n for n in cluster.worker_nodes if n.node_id.startswith(node_prefix)))
    cluster.wait_for_nodes()


def _add(cluster: Cluster) -> None:
    """A worker node again. A raylet may take more than Ray's 30 s to register on a busy
    machine (Ray then raises): try again rather than leave later tests one node short."""
    for attempt in range(ADD_ATTEMPTS):
        try:
            cluster.add_node(num_cpus=NODE_CPUS)
            break
        except Exception:
            if attempt == ADD_ATTEMPTS - 1:
                raise
    cluster.wait_for_nodes()


@pytest.fixture(autouse=True)
def two_worker_nodes(cluster: Cluster) -> None:
    """Every test starts with both worker nodes, whatever an earlier test removed."""
    while len(cluster.worker_nodes) < 2:
        _add(cluster)


@pytest.mark.timeout(1200)  # a job's worker starts a fresh interpreter with torch on its node
def test_jobs_spread_over_the_nodes_and_a_lost_node_fails_only_its_own(served, cluster, data_root):
    """Two jobs at once, a node's CPUs each: Ray places them on the two worker nodes. Losing
    the long job's node fails that job with the reason; the other finishes with a verified
    artifact, and nothing of either is left behind."""
    stub, data_dir = served
    doomed = _submit(stub, _from_file(1, epochs=2000))
    survivor = _submit(stub, _from_file(2))
    (node, doomed_pid), (other, survivor_pid) = (_placement(stub, j) for j in (doomed, survivor))
    assert node != other, "both jobs were placed on one node"
    _remove(cluster, node)

    final = _events(stub, doomed)[-1].finished
    assert final.state == pb.JOB_STATE_FAILED
    assert "Ray node running the job was lost" in final.error, final.error
    assert not (data_dir / "jobs" / doomed / "artifact").exists()
    assert _gone(doomed_pid), "a worker of the lost node is still running"

    final = _events(stub, survivor)[-1].finished
    assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
    assert final.result.metrics["student_int8_accuracy"] > 0.8
    artifact = data_dir / "jobs" / survivor / "artifact"
    assert verify_files(artifact, read_manifest(artifact)) == []
    assert {f.name for f in final.result.files} == set(artifact_members(artifact))
    assert _gone(survivor_pid)
    assert not _work_dirs(data_root, survivor)


def test_cancel_ends_the_worker_on_its_node(served, data_root):
    stub, _ = served
    job_id = _submit(stub, _from_file(1, epochs=2000))
    _, pid = _placement(stub, job_id)
    cancelled = stub.CancelJob(pb.CancelJobRequest(job_id=job_id))
    assert cancelled.state == pb.JOB_STATE_CANCELLED
    assert _gone(pid), "the worker's process group outlived the cancel"
    assert not _work_dirs(data_root, job_id)
    with pytest.raises(grpc.RpcError) as err:
        request = pb.DownloadArtifactRequest(job_id=job_id, file_name="model.onnx")
        list(stub.DownloadArtifact(request))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_lost_node_is_retried_once_when_asked(cluster, data_root):
    # long enough (~20 s of training) that the node goes while the job runs
    with _server(cluster, data_root, retries=1) as (stub, _):
        job_id = _submit(stub, _from_file(5, epochs=300))
        node, _ = _placement(stub, job_id)
        _remove(cluster, node)
        events = _events(stub, job_id)
    assert events[-1].finished.state == pb.JOB_STATE_SUCCEEDED, events[-1].finished.error
    retried = [e.log.message for e in events if "retrying (attempt 2 of 2)" in e.log.message]
    assert len(retried) == 1 and "was lost" in retried[0]
    placed = {p[0] for e in events if (p := _running_on(e))}
    assert node in placed and len(placed) == 2
    assert not _work_dirs(data_root, job_id)  # the lost attempt's too: the retry swept it


def test_two_workers_train_across_both_nodes_as_well_as_one(cluster, data_root):
    """One CPU for the job, one per rank: the ranks spread over the two nodes (gloo)."""
    with _server(cluster, data_root, cpus=1) as (stub, _):
        alone, ddp = _from_file(6, epochs=8), _from_file(6, epochs=8)
        ddp = replace(ddp, training=replace(ddp.training, workers=2))
        runs = [_events(stub, _submit(stub, spec)) for spec in (alone, ddp)]
    accuracy = []
    for events in runs:
        final = events[-1].finished
        assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
        accuracy.append(final.result.metrics["student_accuracy"])
    logs = [e.log.message for e in runs[1] if e.HasField("log")]
    assert "DDP: 2 workers via Ray Train (gloo)" in logs
    rank_nodes = {m.split()[-1] for m in logs if m.startswith("DDP rank ")}
    assert len(rank_nodes) == 2, logs
    # the 1-worker accuracy within noise: digits' test split is ~270 rows (1 row = 0.4 points)
    assert accuracy[1] > 0.85 and abs(accuracy[1] - accuracy[0]) <= 0.05, accuracy
