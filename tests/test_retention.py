"""Bounded disk on a long-running server: DeleteJob, ListUploads / DeleteUpload, `serve --retain`
and the start-up sweep of what a crash left behind. Real servers on 127.0.0.1; digits jobs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from bridge import Dataset, DistillError, SpecError
from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
from bridge.distill.teacher_cache import TEACHER_CACHE_DIR, remove_unused
from bridge.paths import locked
from bridge.remote import RemoteClient
from bridge.server import DistillServer, ServerConfig
from bridge.server.jobs import JobManager, ServerPaths
from bridge.server.retention import Retention
from bridge.server.retention_policy import RetentionPolicy
from bridge.server.store import Store
from bridge.server.uploads import UploadStore
from bridge.wire import spec_to_proto
from tests.conftest import digits_spec
from tests.serverkit import EndlessWorkers, share_zoo_cache
from tests.test_server_production import LONG, ONE_EPOCH, _wait_stage

DAY = 86400.0


@pytest.fixture
def own_server(home: Path, tmp_path: Path):
    """An in-process server with a data dir of its own (so deletions touch nothing shared),
    the session's trained zoo teachers linked in, and a retention policy the test sweeps by
    hand (`retention.sweep(now=...)`): ages far beyond the test's run."""
    data = tmp_path / "data"
    data.mkdir()
    share_zoo_cache(home, data)
    config = ServerConfig(
        port=0,
        data_dir=data,
        max_concurrent_jobs=1,
        retention=RetentionPolicy(jobs=DAY, uploads=DAY, teacher_cache=DAY),
    )
    srv = DistillServer(config)
    srv.retention.policy = RetentionPolicy()  # no background sweeps: the test calls sweep()
    srv.start()
    yield srv
    srv.stop(grace=1)


def _client(srv: DistillServer) -> RemoteClient:
    return RemoteClient(f"127.0.0.1:{srv.port}", plaintext=True)


def _run(client: RemoteClient, spec) -> pb.FinishedEvent:
    final = client.watch(client.submit(spec).job_id)
    assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
    return final


def _dataset_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "blobs.npz"
    x = rng.normal(size=(300, 8)).astype(np.float32)
    np.savez(path, x=x, y=(x[:, 0] > 0).astype(np.int64))
    return path


def _model_directory(tmp_path: Path) -> Path:
    directory = tmp_path / "hf-model"
    directory.mkdir()
    (directory / "config.json").write_text('{"model_type": "bert"}')
    return directory


# ---------------------------------------------------------------- DeleteJob


def test_delete_job_removes_record_events_and_files_and_refuses_an_unfinished_one(
    own_server, tmp_path
):
    jobs_dir = own_server.jobs.paths.data_dir / "jobs"
    with _client(own_server) as client:
        done = client.submit(digits_spec(training=ONE_EPOCH)).job_id
        assert client.watch(done).state == pb.JOB_STATE_SUCCEEDED
        artifact_bytes = sum(f.size_bytes for f in client.get_job(done).result.files)
        running = client.submit(digits_spec(training=LONG)).job_id
        _wait_stage(client.stub, running, "train")

        with pytest.raises(DistillError, match=f"job {running} is running; cancel it") as e:
            client.delete_job(running)
        assert e.value.code == "FAILED_PRECONDITION"
        assert (jobs_dir / running).is_dir()

        freed = client.delete_job(done)
        assert freed >= artifact_bytes > 0
        assert not (jobs_dir / done).exists()
        with pytest.raises(SpecError, match=f"no job '{done}'") as e:
            client.get_job(done)
        assert e.value.code == "NOT_FOUND"
        assert done not in {j.job_id for j in client.list_jobs()}
        with pytest.raises(SpecError, match="no job") as e:
            client.delete_job(done)  # twice: gone
        assert e.value.code == "NOT_FOUND"

        # Just cancelled: the delete waits for the worker to stop, then nothing is left.
        client.cancel_job(running)
        client.delete_job(running)
        assert not (jobs_dir / running).exists()
    db = sqlite3.connect(own_server.store.path)
    for table in ("jobs", "events", "artifacts"):
        rows = db.execute(f"SELECT COUNT(*) FROM {table} WHERE job_id IN (?, ?)", (done, running))
        assert rows.fetchone()[0] == 0, table
    assert (
        own_server.metrics.value("distillbridge_deleted_total", kind="job", reason="request") == 2
    )


# ---------------------------------------------------------------- uploads


def test_an_upload_a_job_needs_cannot_be_deleted_until_the_job_ends(own_server, tmp_path):
    uploads_dir = own_server.jobs.paths.uploads
    with _client(own_server) as client:
        upload = client.upload_dataset(_dataset_file(tmp_path))
        model = client.upload_model(_model_directory(tmp_path))
        spec = digits_spec(
            teacher="self", dataset=Dataset.uploaded(upload.upload_id), training=LONG
        )
        job = client.submit(spec).job_id
        listed = {u.upload_id: u for u in client.list_uploads()}
        assert list(listed) == [upload.upload_id, model.upload_id]  # oldest first
        assert list(listed[upload.upload_id].active_job_ids) == [job]
        assert listed[upload.upload_id].last_used_at.ToSeconds() >= upload.created_at.ToSeconds()
        assert [u.upload_id for u in client.list_uploads("model")] == [model.upload_id]

        with pytest.raises(DistillError, match=f"referenced by queued or running job.* {job}"):
            client.delete_upload(upload.upload_id)
        assert (uploads_dir / upload.upload_id).is_dir()

        client.cancel_job(job)
        freed = client.delete_upload(upload.upload_id)
        assert freed == upload.size_bytes
        assert not (uploads_dir / upload.upload_id).exists()
        assert [u.upload_id for u in client.list_uploads()] == [model.upload_id]
        with pytest.raises(SpecError, match="no upload") as e:
            client.delete_upload(upload.upload_id)
        assert e.value.code == "NOT_FOUND"
        with pytest.raises(SpecError, match="upload") as e:  # a new job cannot use it
            client.submit(spec)
        assert e.value.code == "NOT_FOUND"
        with pytest.raises(ValueError, match="kind"):
            client.list_uploads("teacher")


# ---------------------------------------------------------------- retention


def test_retention_removes_old_jobs_uploads_and_cache_entries_but_nothing_in_use(
    own_server, tmp_path
):
    srv = own_server
    cache = srv.jobs.paths.home / TEACHER_CACHE_DIR
    with _client(srv) as client:
        old = client.submit(digits_spec(training=ONE_EPOCH)).job_id
        assert client.watch(old).state == pb.JOB_STATE_SUCCEEDED
        unused = client.upload_dataset(_dataset_file(tmp_path))
        needed = client.upload_dataset(_dataset_file(tmp_path))
        waiting = client.submit(
            digits_spec(teacher="self", dataset=Dataset.uploaded(needed.upload_id), training=LONG)
        ).job_id
        entries = [e for e in cache.iterdir() if not e.name.startswith(".")]
        assert entries, "the digits job cached its teacher outputs"

        assert srv.retention.sweep(now=time.time() + DAY / 2) == {
            "jobs": 0,
            "uploads": 0,
            "teacher_cache": 0,
        }
        srv.retention.policy = RetentionPolicy(jobs=DAY, uploads=DAY, teacher_cache=DAY)
        with locked(entries[0]):  # a job reading this entry right now
            kept_busy = srv.retention.sweep(now=time.time() + 2 * DAY)
        assert kept_busy == {"jobs": 1, "uploads": 1, "teacher_cache": len(entries) - 1}
        assert entries[0].is_dir()
        assert [j.job_id for j in client.list_jobs()] == [waiting]  # running: kept
        assert [u.upload_id for u in client.list_uploads()] == [needed.upload_id]
        assert not (srv.jobs.paths.uploads / unused.upload_id).exists()
        assert not (srv.jobs.paths.data_dir / "jobs" / old).exists()

        client.cancel_job(waiting)
        srv.retention.sweep(now=time.time() + 2 * DAY)
        assert client.list_jobs() == [] and client.list_uploads() == []
        assert [e for e in cache.iterdir() if not e.name.startswith(".")] == []
    reason = {"reason": "retention"}
    assert srv.metrics.value("distillbridge_deleted_total", kind="job", **reason) == 2
    assert srv.metrics.value("distillbridge_deleted_total", kind="upload", **reason) == 2


def test_max_jobs_keeps_the_newest_finished_jobs_and_ages_count_from_the_end(tmp_path):
    """Jobs restored from the store (no workers): finished 3, 2 and 1 days ago, one queued."""
    store, now = Store(tmp_path), time.time()
    finished = {}
    for age_days in (3, 2, 1):
        job_id = f"job-{age_days:012x}"
        store.insert_job(job_id, pb.DistillSpec(), now - 10 * DAY)  # all submitted long ago
        store.update_job(job_id, state=pb.JOB_STATE_SUCCEEDED, finished=now - age_days * DAY)
        (tmp_path / "jobs" / job_id / "artifact").mkdir(parents=True)
        finished[age_days] = job_id
    store.insert_job("job-00000000000a", spec_to_proto(digits_spec()), now)  # starts, never ends
    (tmp_path / "jobs" / "job-00000000000a").mkdir()
    jobs = JobManager(ServerPaths(tmp_path, tmp_path), store, executor=EndlessWorkers())
    retention = Retention(RetentionPolicy(), jobs, UploadStore(tmp_path / "up", store), tmp_path)

    retention.policy = RetentionPolicy(jobs=1.5 * DAY)  # finished more than 1.5 days ago
    assert retention.sweep(now)["jobs"] == 2
    assert [j.job_id for j in jobs.list()] == [finished[1], "job-00000000000a"]
    retention.policy = RetentionPolicy(max_jobs=0)  # every finished job; never a running one
    assert retention.sweep(now)["jobs"] == 1
    assert [j.job_id for j in jobs.list()] == ["job-00000000000a"]
    assert [p.name for p in (tmp_path / "jobs").iterdir()] == ["job-00000000000a"]
    jobs.shutdown()


def test_a_cache_build_left_by_a_crash_goes_once_old(tmp_path):
    root = tmp_path / "cache"
    (root / "abc.123.tmp").mkdir(parents=True)  # a build whose process died
    (root / "abc").mkdir()
    (root / "abc" / "complete.json").write_text("{}")
    assert remove_unused(root, DAY) == []
    removed = {p.name for p, _ in remove_unused(root, DAY, now=time.time() + 2 * DAY)}
    assert removed == {"abc", "abc.123.tmp"}


def test_over_the_size_cap_the_least_recently_read_entries_go_but_never_one_in_use(tmp_path):
    """Four 1,000-byte entries read 4, 3, 2 and 1 hours ago under a 2,500-byte cap: the two
    read longest ago go; when the oldest is in use, the next two go instead."""
    root, now = tmp_path / "cache", time.time()

    def fill() -> list[str]:
        names = []
        for hours in (4, 3, 2, 1):
            entry = root / f"key{hours}"
            entry.mkdir(parents=True, exist_ok=True)
            (entry / "logits.npy").write_bytes(bytes(1000))
            stamp = entry / "complete.json"
            stamp.write_text("{}")
            os.utime(stamp, (now - hours * 3600, now - hours * 3600))
            names.append(entry.name)
        return names

    fill()
    assert remove_unused(root, None, now, max_bytes=10_000) == []
    removed = remove_unused(root, None, now, max_bytes=2_500)
    assert [(p.name, size) for p, size in removed] == [("key4", 1002), ("key3", 1002)]
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == [
        "key1",
        "key2",
    ]
    fill()
    with locked(root / "key4"):  # a job reading the oldest entry right now
        removed = remove_unused(root, None, now, max_bytes=2_500)
    assert [p.name for p, _ in removed] == ["key3", "key2"]
    # an age and a cap together: whatever either lets go
    removed = remove_unused(root, 1.5 * 3600, now, max_bytes=10_000)
    assert [p.name for p, _ in removed] == ["key4"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobs=7", "jobs='7': give an age such as 90s"),
        ("job=7d", "'job=7d': the key must be one of jobs, max-jobs, uploads, teacher-cache"),
        ("teacher-cache-size=lots", "teacher-cache-size='lots': give a size such as 500MB"),
        ("max-jobs=-1", "max-jobs='-1': give a whole number"),
        ("uploads=1d,uploads=2d", "uploads is given twice"),
    ],
)
def test_a_bad_retain_flag_is_one_line_naming_it(text, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        RetentionPolicy.parse(text)
    cli = [sys.executable, "-m", "bridge", "serve", "--retain", text, "--data-dir", str(tmp_path)]
    result = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error: --retain: ") and message[:20] in result.stderr


def test_retain_parses_every_key_and_unit():
    policy = RetentionPolicy.parse(
        "jobs=90s,max-jobs=1000,uploads=12h,teacher-cache=1.5d,teacher-cache-size=50GB"
    )
    assert policy == RetentionPolicy(
        jobs=90, max_jobs=1000, uploads=43200, teacher_cache=129600, teacher_cache_size=50 * 10**9
    )
    assert policy.interval == 22.5  # a quarter of the shortest age
    assert RetentionPolicy.parse("teacher-cache-size=2GiB").teacher_cache_size == 2 * 1024**3
    assert not RetentionPolicy.parse("").enabled


# ---------------------------------------------------------------- crash leftovers


def test_a_restart_sweeps_directories_without_records_and_migrates_an_old_database(tmp_path):
    data = tmp_path / "data"
    (data / "jobs" / "job-0123456789ab" / "artifact").mkdir(parents=True)
    (data / "jobs" / "notes").mkdir()  # not the server's: left alone
    (data / "uploads" / "upl-0123456789abcdef").mkdir(parents=True)
    (data / "uploads" / ".incoming-upl-0000000000000000").mkdir()
    _old_database(data / "bridge.db")
    srv = DistillServer(ServerConfig(port=0, data_dir=data))
    try:
        assert sorted(p.name for p in (data / "jobs").iterdir()) == ["notes"]
        assert list((data / "uploads").iterdir()) == []
        columns = [
            r[1] for r in sqlite3.connect(data / "bridge.db").execute("PRAGMA table_info(uploads)")
        ]
        assert columns[-1] == "last_used"
        assert Store(data).uploads() == []
    finally:
        srv.stop(grace=0)


def _old_database(path: Path) -> None:
    """The version-1 uploads table, before `last_used`."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE uploads (upload_id TEXT PRIMARY KEY, kind INTEGER NOT NULL, file_name TEXT"
        " NOT NULL, size_bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, path TEXT NOT NULL,"
        " extracted INTEGER NOT NULL, created REAL NOT NULL)"
    )
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()


def test_the_grpc_status_of_each_refusal(own_server):
    with grpc.insecure_channel(f"127.0.0.1:{own_server.port}") as channel:
        stub = pb_grpc.DistillerServiceStub(channel)
        for call, request, code in (
            (stub.DeleteJob, pb.DeleteJobRequest(), grpc.StatusCode.INVALID_ARGUMENT),
            (stub.DeleteUpload, pb.DeleteUploadRequest(), grpc.StatusCode.INVALID_ARGUMENT),
            (
                stub.DeleteUpload,
                pb.DeleteUploadRequest(upload_id="../x"),
                grpc.StatusCode.NOT_FOUND,
            ),
        ):
            with pytest.raises(grpc.RpcError) as e:
                call(request, timeout=10)
            assert e.value.code() == code
