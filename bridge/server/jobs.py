"""Job bookkeeping: a bounded queue, one worker per running job (a process of its own, on this
machine or on a Ray node: bridge/server/executors.py; a crash or cancel never takes the server
down), each job's event log that watchers replay and follow, and the SQLite store that lets all
of it survive a restart.

Restart policy: a job that was running when the server died is marked FAILED with "interrupted
by server restart" (its half-trained state is not resumed: a job restarts cheaply from its spec,
and a resumed one could not prove it matched a clean run). Queued jobs stay queued and run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.cache_budget import CacheBudget
from bridge.errors import DistillError
from bridge.events import Event, LogEvent, StageEvent
from bridge.export.manifest import MANIFEST, artifact_members
from bridge.paths import sha256_file, tree_bytes
from bridge.server import logs
from bridge.server.convert import timestamp
from bridge.server.executors import Execution, Executor, LocalExecutor
from bridge.server.metrics import Metrics
from bridge.server.store import Store, StoredJob
from bridge.server.worker import KILL_GRACE_SECONDS
from bridge.spec import DistillSpec, SpecError
from bridge.tracking import Finished, JobTracker, MlflowSettings, close_interrupted_run
from bridge.wire import event_to_proto, spec_from_proto, spec_to_proto

TERMINAL = {pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED}
MLFLOW_STATUS = {pb.JOB_STATE_FAILED: "FAILED", pb.JOB_STATE_CANCELLED: "KILLED"}
INTERRUPTED_BY_RESTART = "interrupted by server restart"
INTERRUPTED_BY_SHUTDOWN = "interrupted by server shutdown"
ARTIFACT = "artifact"  # the one entry of a job's directory that outlives its worker
JOB_ID = re.compile(r"job-[0-9a-f]{12}")  # submit's "job-" + 12 hex digits
log = logging.getLogger("bridge.server.jobs")


class ServerClosing(DistillError):
    """The server is shutting down: streams end with UNAVAILABLE, new jobs are refused."""

    def __init__(self) -> None:
        super().__init__("server is shutting down", "UNAVAILABLE")


class JobActive(DistillError):
    def __init__(self, job_id: str, state: int) -> None:
        super().__init__(
            f"job_id: job {job_id} is {_state_name(state)}; cancel it before deleting it",
            "FAILED_PRECONDITION",
        )


class UploadInUse(DistillError):
    def __init__(self, upload_id: str, job_ids: list[str]) -> None:
        super().__init__(
            f"upload_id: {upload_id} is referenced by queued or running job(s) "
            f"{', '.join(job_ids)}; it can be deleted once they end",
            "FAILED_PRECONDITION",
        )


class QueueFull(DistillError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the job queue is full ({limit} jobs waiting); retry later", "RESOURCE_EXHAUSTED"
        )


@dataclass
class JobRecord:
    job_id: str
    spec_proto: pb.DistillSpec  # as submitted: what GetJob shows, what a restart re-reads
    directory: Path
    spec: DistillSpec | None = None  # None for a restored job whose spec no longer validates
    state: int = pb.JOB_STATE_QUEUED
    stage: str = "queued"
    error: str = ""
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    manifest_json: str = ""
    files: list[pb.ArtifactFile] = field(default_factory=list)
    events: list[pb.JobEvent] = field(default_factory=list)
    execution: Execution | None = None
    pump: threading.Thread | None = None  # follows the execution (jobs.py `_pump`)
    attempts: int = 0  # worker starts so far (a retry after a lost worker is the second)
    tracker: JobTracker | None = None  # its MLflow run (serve --mlflow-tracking-uri)
    mlflow_run: pb.MlflowRun | None = None  # the latest MlflowRun event (GetJob shows it)

    @property
    def artifact_dir(self) -> Path:
        """Published artifacts only: a worker writes into `staging_dir`, renamed on success."""
        return self.directory / ARTIFACT

    @property
    def staging_dir(self) -> Path:
        return self.directory / "staging"

    def clear_scratch(self) -> None:
        """Once no worker runs: everything in the job's directory but its published artifact
        (the worker's unpublished output, the pipeline's `.partial` work, temp files)."""
        for entry in self.directory.iterdir() if self.directory.is_dir() else ():
            if entry.name == ARTIFACT:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    @property
    def done(self) -> bool:
        return self.state in TERMINAL

    def result_proto(self) -> pb.DistillResult | None:
        if self.state != pb.JOB_STATE_SUCCEEDED:
            return None
        return pb.DistillResult(
            metrics=self.metrics, manifest_json=self.manifest_json, files=self.files
        )

    def to_proto(self) -> pb.Job:
        return pb.Job(
            mlflow_run=self.mlflow_run,
            job_id=self.job_id,
            state=self.state,
            spec=self.spec_proto,
            stage=self.stage,
            error=self.error,
            created_at=timestamp(self.created),
            started_at=timestamp(self.started),
            finished_at=timestamp(self.finished),
            result=self.result_proto(),
        )


@dataclass(frozen=True)
class ServerPaths:
    data_dir: Path  # bridge.db, jobs/, uploads/ and the zoo teacher cache live here
    data_root: Path  # user teacher and dataset files must live under this
    # What one job's teacher-output cache entry may take (serve --teacher-cache-budget).
    teacher_cache_budget: CacheBudget = field(default_factory=CacheBudget)

    @property
    def home(self) -> Path:
        return self.data_dir

    @property
    def uploads(self) -> Path:
        return self.data_dir / "uploads"


@dataclass(frozen=True)
class JobLimits:
    max_concurrent_jobs: int = 1
    max_queued_jobs: int = 64
    # Starts again after the worker died or its node was lost (not after the job's own error).
    job_retries: int = 0

    def __post_init__(self) -> None:
        if self.max_concurrent_jobs < 1 or self.max_queued_jobs < 0:
            raise ValueError("max_concurrent_jobs must be >= 1 and max_queued_jobs >= 0")
        if self.job_retries < 0:
            raise ValueError("job_retries must be >= 0")


def _identity(spec: DistillSpec) -> DistillSpec:
    return spec


class JobManager:
    """Thread-safe. Jobs run in workers started by `executor` (default: spawned processes on
    this machine), at most `max_concurrent_jobs` at once; up to `max_queued_jobs` more wait in
    FIFO order. `prepare` turns a submitted spec into the one a worker runs (upload ids ->
    stored paths) just before it starts."""

    def __init__(
        self,
        paths: ServerPaths,
        store: Store,
        limits: JobLimits | None = None,
        metrics: Metrics | None = None,
        prepare: Callable[[DistillSpec], DistillSpec] = _identity,
        executor: Executor | None = None,
        tracking: MlflowSettings | None = None,
    ) -> None:
        self.paths = paths
        self.tracking = tracking
        self.store = store
        self.limits = limits or JobLimits()
        self.metrics = metrics or Metrics()
        self.prepare = prepare
        self._jobs: dict[str, JobRecord] = {}
        self._queue: list[str] = []
        self._running = 0
        self._lock = threading.Condition()
        self._closed = False
        self.executor = executor or LocalExecutor(paths)
        (paths.data_dir / "jobs").mkdir(parents=True, exist_ok=True)
        with self._lock:
            for stored in store.jobs():
                self._restore(stored)
            self._sweep_orphan_directories()
            self._start_ready()

    # ------------------------------------------------------------ queries

    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[JobRecord]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created)

    def watch(
        self, job_id: str, from_sequence: int, alive: Callable[[], bool]
    ) -> Iterator[pb.JobEvent]:
        """Yields the job's events from `from_sequence` on, live, until the final event.
        Raises `ServerClosing` when the server stops before the job ends."""
        job = self._jobs[job_id]
        next_seq = max(0, from_sequence)
        while True:
            with self._lock:
                while next_seq >= len(job.events):
                    # a finished job's last event is its FinishedEvent: nothing more will come
                    if job.done or not alive():
                        return
                    if self._closed:
                        raise ServerClosing()
                    self._lock.wait(timeout=0.5)
                batch = job.events[next_seq:]
            for event in batch:
                yield event
                next_seq += 1
                if event.HasField("finished"):
                    return

    # ------------------------------------------------------------ commands

    def submit(self, spec: DistillSpec) -> JobRecord:
        job_id = "job-" + uuid.uuid4().hex[:12]
        job = JobRecord(job_id, spec_to_proto(spec), self.paths.data_dir / "jobs" / job_id, spec)
        with self._lock:
            if self._closed:
                raise ServerClosing()
            if len(self._queue) >= self.limits.max_queued_jobs:
                raise QueueFull(self.limits.max_queued_jobs)
            self._claim_uploads(job)
            job.directory.mkdir(parents=True)
            self.store.insert_job(job_id, job.spec_proto, job.created)
            self._jobs[job_id] = job
            self._queue.append(job_id)
            self._append(job, event_to_proto(LogEvent(f"queued ({len(self._queue)} waiting)")))
            self.metrics.jobs_submitted.inc()
            self._start_ready()
        log.info("job submitted", extra=logs.job(job_id, dataset=spec.dataset.display_name))
        return job

    def cancel(self, job_id: str) -> JobRecord:
        with self._lock:
            job = self._jobs[job_id]
            if job.done:
                return job
            if job_id in self._queue:
                self._queue.remove(job_id)
            execution = job.execution
            self._finish(job, pb.JOB_STATE_CANCELLED, "cancelled by the caller")
        if execution is not None:
            execution.stop()
        log.info("job cancelled", extra=logs.job(job_id))
        return job

    def delete(self, job_id: str, reason: str = "request") -> int:
        """Forgets a finished job and removes its files; returns the bytes freed. Raises
        `KeyError` for an unknown job, `JobActive` for a queued or running one."""
        with self._lock:
            job = self._jobs[job_id]
            if not job.done:
                raise JobActive(job_id, job.state)
        if job.pump is not None:  # a cancelled worker may still be stopping: let it go first
            job.pump.join(timeout=KILL_GRACE_SECONDS + 5.0)
        with self._lock:
            if self._jobs.pop(job_id, None) is None:
                raise KeyError(job_id)  # deleted meanwhile by another caller
            self.store.delete_job(job_id)  # the record goes first: files without one are swept
        freed = tree_bytes(job.directory)
        shutil.rmtree(job.directory, ignore_errors=True)
        self.metrics.deleted.labels("job", reason).inc()
        self.metrics.freed_bytes.labels("job").inc(freed)
        log.info("job deleted", extra=logs.job(job_id, freed_bytes=freed, reason=reason))
        return freed

    def active_upload_references(self) -> dict[str, list[str]]:
        """upload id -> the queued or running jobs that reference it."""
        with self._lock:
            return self._active_references()

    def delete_upload(
        self, upload_id: str, remove: Callable[[str], int], reason: str = "request"
    ) -> int:
        """Runs `remove(upload_id)` (returning the bytes freed) unless an unfinished job
        references the upload (then `UploadInUse`); under the lock that `submit` takes, so no
        job can claim the upload meanwhile."""
        with self._lock:
            users = self._active_references().get(upload_id)
            if users:
                raise UploadInUse(upload_id, users)
            freed = remove(upload_id)
        self.metrics.deleted.labels("upload", reason).inc()
        self.metrics.freed_bytes.labels("upload").inc(freed)
        log.info(
            "upload deleted", extra={"upload_id": upload_id, "freed_bytes": freed, "reason": reason}
        )
        return freed

    def shutdown(self) -> None:
        """Stops taking jobs, ends running workers and records their jobs as FAILED; queued
        jobs stay queued in the store and run after a restart."""
        with self._lock:
            self._closed = True
            running = [j for j in self._jobs.values() if j.state == pb.JOB_STATE_RUNNING]
            for job in running:
                self._finish(job, pb.JOB_STATE_FAILED, INTERRUPTED_BY_SHUTDOWN, "interrupted")
            self._lock.notify_all()
        for job in running:
            if job.execution is not None:
                job.execution.stop()
        for job in running:  # they notice the job ended within a poll; then the executor goes
            if job.pump is not None:
                job.pump.join(timeout=KILL_GRACE_SECONDS + 5.0)
        self.executor.close()

    # ------------------------------------------------------------ uploads

    def _claim_uploads(self, job: JobRecord) -> None:
        ids = upload_ids(job.spec_proto)
        if ids and self.store.touch_uploads(ids, job.created) != len(ids):
            raise SpecError("upload_id", f"upload {', '.join(ids)} was deleted", kind="not_found")

    def _active_references(self) -> dict[str, list[str]]:
        users: dict[str, list[str]] = {}
        for job in self._jobs.values():
            if not job.done:
                for upload_id in upload_ids(job.spec_proto):
                    users.setdefault(upload_id, []).append(job.job_id)
        return users

    # ------------------------------------------------------------ restart

    def _restore(self, stored: StoredJob) -> None:
        job = JobRecord(
            stored.job_id,
            stored.spec,
            self.paths.data_dir / "jobs" / stored.job_id,
            state=stored.state,
            stage=stored.stage,
            error=stored.error,
            created=stored.created,
            started=stored.started,
            finished=stored.finished,
            metrics=stored.metrics,
            manifest_json=stored.manifest_json,
            files=stored.files,
            events=stored.events,
        )
        job.mlflow_run = next(
            (e.mlflow_run for e in reversed(job.events) if e.HasField("mlflow_run")), None
        )
        self._jobs[job.job_id] = job
        job.clear_scratch()  # what a worker left when the server died
        if job.state == pb.JOB_STATE_RUNNING:
            self._finish(job, pb.JOB_STATE_FAILED, INTERRUPTED_BY_RESTART, "interrupted")
            log.warning("job interrupted by restart", extra=logs.job(job.job_id))
            self._close_orphan_run(job)
        elif job.state == pb.JOB_STATE_QUEUED:
            try:
                job.spec = spec_from_proto(job.spec_proto)
            except SpecError as e:
                self._finish(job, pb.JOB_STATE_FAILED, f"spec no longer valid after restart: {e}")
                return
            self._queue.append(job.job_id)

    def _close_orphan_run(self, job: JobRecord) -> None:
        """The MLflow run the dead server opened for `job` ends FAILED too (in the background)."""
        run = job.mlflow_run
        if self.tracking is None or run is None or not run.run_id:
            return
        close_interrupted_run(
            self.tracking,
            run.run_id,
            INTERRUPTED_BY_RESTART,
            lambda operation: self.metrics.mlflow_errors.labels(operation).inc(),
        )

    def _sweep_orphan_directories(self) -> None:
        """Job directories with no record: a delete cut short between its two steps."""
        for directory in (self.paths.data_dir / "jobs").iterdir():
            if JOB_ID.fullmatch(directory.name) and directory.name not in self._jobs:
                log.warning("removing an orphaned job directory", extra={"path": str(directory)})
                shutil.rmtree(directory, ignore_errors=True)

    # ------------------------------------------------------------ internals

    def _start_ready(self) -> None:
        while self._queue and self._running < self.limits.max_concurrent_jobs and not self._closed:
            job = self._jobs[self._queue.pop(0)]
            assert job.spec is not None
            try:
                spec = self.prepare(job.spec)
            except SpecError as e:
                self._finish(job, pb.JOB_STATE_FAILED, str(e))
                continue
            self._running += 1
            job.state, job.stage, job.started = pb.JOB_STATE_RUNNING, "starting", time.time()
            self._launch(job, spec)
        self.metrics.jobs_running.set(self._running)
        self.metrics.jobs_queued.set(len(self._queue))

    def _launch(self, job: JobRecord, spec: DistillSpec) -> None:
        """Starts the job's worker (again, on a retry) and the thread that follows it."""
        job.attempts += 1
        if self.tracking is not None and job.tracker is None and job.spec is not None:
            job.tracker = JobTracker(
                self.tracking,
                job.spec,  # as submitted: upload ids, not the server's paths
                job.job_id,
                lambda event: self._tracker_event(job, event),
                lambda operation: self.metrics.mlflow_errors.labels(operation).inc(),
            ).start()
        try:
            execution = self.executor.start(job.job_id, spec, job.staging_dir)
        except Exception as e:  # e.g. the Ray cluster went away: this job fails, the server stays
            self._running -= 1
            self._finish(job, pb.JOB_STATE_FAILED, f"cannot start the job's worker: {e}", "start")
            return
        job.execution = execution
        self.store.update_job(
            job.job_id,
            state=job.state,
            stage=job.stage,
            started=job.started,
            worker_pid=execution.worker_pid,
        )
        log.info("job started", extra=logs.job(job.job_id, worker=execution.where))
        job.pump = threading.Thread(
            target=self._pump, args=(job, execution, spec), daemon=True, name=f"pump-{job.job_id}"
        )
        job.pump.start()

    def _pump(self, job: JobRecord, execution: Execution, spec: DistillSpec) -> None:
        """Moves the worker's messages into the job until it reports an outcome or dies."""
        outcome = self._follow(job, execution)
        files: list[pb.ArtifactFile] = []
        if outcome and outcome[0] == "ok" and not job.done:
            try:  # hashing and fsync happen outside the lock: GetJob must not wait on disk
                execution.collect(job.staging_dir)
                files = _publish(job.staging_dir, job.artifact_dir)
            except OSError as e:
                outcome = ("error", f"cannot store the artifact: {e}")
            else:
                self._track_success(job, outcome[1])
        lost = None if outcome or job.done else execution.failure()
        with self._lock:
            if lost and job.attempts <= self.limits.job_retries and not self._closed:
                retry = f"retrying (attempt {job.attempts + 1} of {self.limits.job_retries + 1})"
                self._append(job, event_to_proto(LogEvent(f"{lost}; {retry}", "WARNING")))
                job.clear_scratch()
                self._launch(job, spec)
                if job.done:  # it could not start again: the next job may
                    self._start_ready()
                return
            self._running -= 1
            if not job.done:
                if outcome and outcome[0] == "ok":
                    self._succeed(job, outcome[1], files)
                elif outcome:
                    self._finish(job, pb.JOB_STATE_FAILED, outcome[1], "pipeline")
                else:
                    self._finish(job, pb.JOB_STATE_FAILED, lost or "", "worker_died")
            self._start_ready()
        execution.stop()  # a finished worker is gone already; a Ray actor holds its resources
        job.clear_scratch()  # after the stop: a cancelled worker may have written until then

    def _follow(self, job: JobRecord, execution: Execution) -> tuple | None:
        """The worker's events and logs into the job; its outcome (None: it ended without one,
        or the job ended first: cancelled, server shutting down)."""
        while not job.done:
            message = execution.next_message(timeout=0.5)
            if message is None:
                if not execution.alive():
                    return None
                continue
            kind, payload = message
            if kind == "event":
                if job.tracker is not None:
                    job.tracker.observe(payload)
                with self._lock:
                    if job.done:
                        continue
                    if isinstance(payload, StageEvent):
                        job.stage = payload.stage
                        self.store.update_job(job.job_id, stage=job.stage)
                    self._append(job, event_to_proto(payload))
            elif kind == "log":  # a worker's log record, tracebacks included
                logs.replay(payload)
            else:
                return kind, payload
        return None

    def _track_success(self, job: JobRecord, result: dict) -> None:
        """The run's final metrics, artifacts and registration, before the job's last event
        (which carries the version); bounded by the tracker's finish timeout."""
        if job.tracker is None:
            return
        try:
            manifest = json.loads((job.artifact_dir / MANIFEST).read_text())
        except (OSError, ValueError) as e:  # the job stands; only its MLflow record is short
            job.tracker.abandon(Finished("FINISHED"))
            log.warning("MLflow: cannot read the manifest: %s", e, extra=logs.job(job.job_id))
            return
        job.tracker.finish(Finished("FINISHED", result["metrics"], job.artifact_dir, manifest))
        job.tracker.close()

    def _tracker_event(self, job: JobRecord, event: Event) -> None:
        """An event of the job's MLflow tracker (its thread), while the job has not ended."""
        with self._lock:
            if not job.done:
                self._append(job, event_to_proto(event))
                return
        log.info("MLflow event after the job ended: %s", event, extra=logs.job(job.job_id))

    def _succeed(self, job: JobRecord, result: dict, files: list[pb.ArtifactFile]) -> None:
        job.metrics = result["metrics"]
        job.manifest_json = (job.artifact_dir / MANIFEST).read_text()
        job.files = files
        self.store.record_artifacts(job.job_id, files)
        self._finish(job, pb.JOB_STATE_SUCCEEDED, "")

    def _finish(self, job: JobRecord, state: int, error: str, cause: str = "") -> None:
        job.state, job.error, job.finished = state, error, time.time()
        job.stage = {
            pb.JOB_STATE_SUCCEEDED: "done",
            pb.JOB_STATE_FAILED: "failed",
            pb.JOB_STATE_CANCELLED: "cancelled",
        }[state]
        finished = pb.FinishedEvent(state=state, error=error, result=job.result_proto())
        self._append(job, pb.JobEvent(finished=finished))
        self.store.update_job(
            job.job_id,
            state=state,
            stage=job.stage,
            error=error,
            finished=job.finished,
            metrics=job.metrics,
            manifest_json=job.manifest_json,
        )
        self.store.touch_uploads(upload_ids(job.spec_proto), job.finished)
        if job.tracker is not None and state in MLFLOW_STATUS:
            job.tracker.abandon(Finished(MLFLOW_STATUS[state]))
        if state != pb.JOB_STATE_SUCCEEDED:
            shutil.rmtree(job.artifact_dir, ignore_errors=True)
            shutil.rmtree(job.staging_dir, ignore_errors=True)
        state_name = _state_name(state)
        self.metrics.jobs_finished.labels(state_name).inc()
        if state == pb.JOB_STATE_FAILED:
            self.metrics.job_failures.labels(cause or "pipeline").inc()
        if job.started is not None:
            self.metrics.job_duration.labels(state_name).observe(job.finished - job.started)
        level = logging.INFO if state == pb.JOB_STATE_SUCCEEDED else logging.WARNING
        log.log(level, "job %s", state_name, extra=logs.job(job.job_id, error=error))

    def _append(self, job: JobRecord, event: pb.JobEvent) -> None:
        event.job_id = job.job_id
        event.sequence = len(job.events)
        event.time.CopyFrom(timestamp(time.time()))
        self.store.append_event(event)
        job.events.append(event)
        if event.HasField("mlflow_run"):
            job.mlflow_run = event.mlflow_run
        self._lock.notify_all()


def upload_ids(spec: pb.DistillSpec) -> list[str]:
    """The uploads a submitted spec references (teacher, dataset)."""
    return [i for i in (spec.teacher.upload_id, spec.dataset.upload_id) if i]


def _state_name(state: int) -> str:
    return pb.JobState.Name(state).removeprefix("JOB_STATE_").lower()


def _publish(staging: Path, artifact: Path) -> list[pb.ArtifactFile]:
    """Makes a worker's output the job's artifact, all or nothing: every file is fsynced and
    hashed, then the directory is renamed into place (a reader never sees half a file)."""
    files = []
    for name in artifact_members(staging):  # report/ files travel too, named "report/<file>"
        path = staging / name
        with path.open("rb") as f:
            os.fsync(f.fileno())
        files.append(
            pb.ArtifactFile(name=name, size_bytes=path.stat().st_size, sha256=sha256_file(path))
        )
    if not any(f.name == MANIFEST for f in files):
        raise OSError(f"the worker wrote no {MANIFEST}")
    shutil.rmtree(artifact, ignore_errors=True)
    os.replace(staging, artifact)
    _fsync_dir(artifact.parent)
    return files


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
