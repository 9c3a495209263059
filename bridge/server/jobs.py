"""Job bookkeeping: a queue, one worker *process* per running job (a crash or cancel never
takes the server down), and each job's event log that watchers replay and follow."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import shutil
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.errors import DistillError
from bridge.events import Event, LogEvent, event_to_proto
from bridge.export.manifest import MANIFEST
from bridge.paths import sha256_file
from bridge.server.convert import timestamp
from bridge.spec import DistillSpec, SpecError, spec_to_proto

TERMINAL = {pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED}
KILL_GRACE_SECONDS = 3.0


@dataclass
class JobRecord:
    job_id: str
    spec: DistillSpec
    directory: Path
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
    process: mp.process.BaseProcess | None = None

    @property
    def artifact_dir(self) -> Path:
        return self.directory / "artifact"

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
            job_id=self.job_id,
            state=self.state,
            spec=spec_to_proto(self.spec),
            stage=self.stage,
            error=self.error,
            created_at=timestamp(self.created),
            started_at=timestamp(self.started),
            finished_at=timestamp(self.finished),
            result=self.result_proto(),
        )


@dataclass(frozen=True)
class ServerPaths:
    data_dir: Path  # jobs/ and the zoo teacher cache live here
    data_root: Path  # user teacher and dataset files must live under this

    @property
    def home(self) -> Path:
        return self.data_dir


class JobManager:
    """Thread-safe. Jobs run in spawned worker processes, at most `max_concurrent` at once;
    the rest wait in FIFO order."""

    def __init__(self, paths: ServerPaths, max_concurrent: int = 1) -> None:
        self.paths = paths
        self.max_concurrent = max_concurrent
        self._jobs: dict[str, JobRecord] = {}
        self._queue: list[str] = []
        self._running = 0
        self._lock = threading.Condition()
        self._closed = False
        self._mp = mp.get_context("spawn")
        (paths.data_dir / "jobs").mkdir(parents=True, exist_ok=True)

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
        """Yields the job's events from `from_sequence` on, live, until the final event."""
        job = self._jobs[job_id]
        next_seq = max(0, from_sequence)
        while True:
            with self._lock:
                while next_seq >= len(job.events):
                    # a finished job's last event is its FinishedEvent: nothing more will come
                    if job.done or self._closed or not alive():
                        return
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
        job = JobRecord(job_id, spec, self.paths.data_dir / "jobs" / job_id)
        job.directory.mkdir(parents=True)
        with self._lock:
            if self._closed:
                raise DistillError("server is shutting down")
            self._jobs[job_id] = job
            self._queue.append(job_id)
            self._append(job, event_to_proto(LogEvent(f"queued ({len(self._queue)} waiting)")))
            self._start_ready()
        return job

    def cancel(self, job_id: str) -> JobRecord:
        with self._lock:
            job = self._jobs[job_id]
            if job.done:
                return job
            if job_id in self._queue:
                self._queue.remove(job_id)
            process = job.process
            self._finish(job, pb.JOB_STATE_CANCELLED, "cancelled by the caller")
        if process is not None:
            _kill_tree(process)
        return job

    def shutdown(self) -> None:
        """Stops taking jobs, ends running workers and marks unfinished jobs."""
        with self._lock:
            self._closed = True
            running = [j for j in self._jobs.values() if not j.done]
            for job in running:
                self._finish(job, pb.JOB_STATE_FAILED, "interrupted by server shutdown")
            self._lock.notify_all()
        for job in running:
            if job.process is not None:
                _kill_tree(job.process)

    # ------------------------------------------------------------ internals

    def _start_ready(self) -> None:
        while self._queue and self._running < self.max_concurrent and not self._closed:
            job = self._jobs[self._queue.pop(0)]
            self._running += 1
            job.state, job.stage, job.started = pb.JOB_STATE_RUNNING, "starting", time.time()
            events: mp.Queue = self._mp.Queue()
            job.process = self._mp.Process(
                target=_worker_main,
                name=f"distill-{job.job_id}",
                daemon=True,
                args=(job.spec, job.artifact_dir, self.paths, job.job_id, events),
            )
            job.process.start()
            threading.Thread(
                target=self._pump, args=(job, events), daemon=True, name=f"pump-{job.job_id}"
            ).start()

    def _pump(self, job: JobRecord, events: mp.Queue) -> None:
        """Moves the worker's messages into the job until it reports an outcome or dies."""
        assert job.process is not None
        outcome: tuple | None = None
        while outcome is None:
            try:
                kind, payload = events.get(timeout=0.5)
            except queue.Empty:
                if not job.process.is_alive():
                    break
                continue
            if kind == "event":
                with self._lock:
                    if payload.__class__.__name__ == "StageEvent":
                        job.stage = payload.stage
                    self._append(job, event_to_proto(payload))
            else:
                outcome = (kind, payload)
        job.process.join(timeout=KILL_GRACE_SECONDS)
        with self._lock:
            self._running -= 1
            if not job.done:
                if outcome and outcome[0] == "ok":
                    self._succeed(job, outcome[1])
                elif outcome:
                    self._finish(job, pb.JOB_STATE_FAILED, outcome[1])
                else:
                    code = job.process.exitcode
                    self._finish(
                        job,
                        pb.JOB_STATE_FAILED,
                        f"worker process died unexpectedly (exit code {code})",
                    )
            self._start_ready()

    def _succeed(self, job: JobRecord, result: dict) -> None:
        job.metrics = result["metrics"]
        manifest_path = job.artifact_dir / MANIFEST
        job.manifest_json = manifest_path.read_text()
        job.files = [
            pb.ArtifactFile(name=p.name, size_bytes=p.stat().st_size, sha256=sha256_file(p))
            for p in sorted(job.artifact_dir.iterdir())
            if p.is_file()
        ]
        self._finish(job, pb.JOB_STATE_SUCCEEDED, "")

    def _finish(self, job: JobRecord, state: int, error: str) -> None:
        job.state, job.error, job.finished = state, error, time.time()
        job.stage = {
            pb.JOB_STATE_SUCCEEDED: "done",
            pb.JOB_STATE_FAILED: "failed",
            pb.JOB_STATE_CANCELLED: "cancelled",
        }[state]
        finished = pb.FinishedEvent(state=state, error=error, result=job.result_proto())
        self._append(job, pb.JobEvent(finished=finished))
        if state != pb.JOB_STATE_SUCCEEDED:
            shutil.rmtree(job.artifact_dir, ignore_errors=True)

    def _append(self, job: JobRecord, event: pb.JobEvent) -> None:
        event.job_id = job.job_id
        event.sequence = len(job.events)
        event.time.CopyFrom(timestamp(time.time()))
        job.events.append(event)
        self._lock.notify_all()


def _worker_main(
    spec: DistillSpec, out_dir: Path, paths: ServerPaths, job_id: str, events: mp.Queue
) -> None:
    """Entry point of a worker process. Its own process group, so cancel ends its children."""
    os.setpgrp()
    from bridge.pipeline import RunContext, run  # heavy imports stay out of the server

    def on_event(event: Event) -> None:
        events.put(("event", event))

    ctx = RunContext(home=paths.home, data_root=paths.data_root, job_id=job_id)
    try:
        result = run(spec, out_dir, ctx, on_event)
        events.put(("ok", {"metrics": result.metrics}))
    except (SpecError, DistillError) as e:
        events.put(("error", str(e)))
    except Exception as e:  # report anything, with where it happened, instead of dying silently
        where = traceback.extract_tb(e.__traceback__)[-1]
        events.put(
            (
                "error",
                f"internal error: {type(e).__name__}: {e} "
                f"({Path(where.filename).name}:{where.lineno})",
            )
        )
    finally:
        events.close()
        events.join_thread()


def _kill_tree(process: mp.process.BaseProcess) -> None:
    """SIGTERM the worker's process group, then SIGKILL what is left."""
    pid = process.pid
    if pid is None:
        return
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        process.join(timeout=wait)
        if not process.is_alive():
            return
