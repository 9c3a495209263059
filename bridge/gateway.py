"""`distill-bridge debug-server`: the Python `Distiller` exposed to JVM callers over Py4J.

A door like cli.py and server/: a Java developer points `DistillBridge.debug(...)` at this
process and drives the same fluent `newDistiller()` API straight into local Python -- no gRPC
server, no worker processes -- so breakpoints in the pipeline hit.

The wire between the two sides is the proto: Java sends a serialized `DistillSpec` (built by
the same builder code as for gRPC), this side answers with serialized `JobEvent`s, the last a
`FinishedEvent` carrying the `DistillResult`. The door contract is the server's: parse ->
`DistillSpec` -> `check` -> run; the spec itself runs (`bridge.api.run_local`) on a thread of
this process. The gateway listens on loopback only and requires an auth token, which
it writes with the port to a connection file only the owner can read.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.api import run_local
from bridge.check import check
from bridge.errors import DistillError, JobCancelled
from bridge.events import Event
from bridge.export.manifest import MANIFEST, artifact_members
from bridge.paths import sha256_file
from bridge.spec import DistillSpec, SpecError
from bridge.tracking import refuse_untracked_registry
from bridge.wire import event_to_proto, spec_from_proto, spec_to_proto

LOOPBACK = "127.0.0.1"
log = logging.getLogger("bridge.gateway")


@dataclass
class _Job:
    job_id: str
    events: list[bytes] = field(default_factory=list)
    artifact_dir: Path | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)

    def append(self, event: pb.JobEvent) -> None:
        with self.changed:
            event.job_id = self.job_id
            event.sequence = len(self.events)
            event.time.CopyFrom(_now())
            self.events.append(event.SerializeToString())
            self.changed.notify_all()

    def next(self, sequence: int, wait_seconds: float) -> bytes | None:
        with self.changed:
            self.changed.wait_for(lambda: len(self.events) > sequence, timeout=wait_seconds)
            return self.events[sequence] if len(self.events) > sequence else None


class DebugEntryPoint:
    """What a JVM caller sees (the Java interface `dev.distillbridge.debug.DebugGateway`).
    Method names are Java's: Py4J calls them by name."""

    def __init__(self, home: Path) -> None:
        self._home = home
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()

    def validate(self, spec_bytes: bytes) -> str:
        """ "" when the spec is acceptable, else "CODE\tfield: message" (CODE a gRPC status
        name): the same checks and codes as the gRPC server's SubmitJob."""
        try:
            self._spec(spec_bytes)
        except SpecError as e:
            return f"{e.code}\t{e}"
        return ""

    def normalize(self, spec_bytes: bytes) -> bytes:
        """The serialized spec the pipeline would receive (every default filled in), as
        SubmitJob with validate_only answers it; call after `validate` returned ""."""
        return spec_to_proto(self._spec(spec_bytes)).SerializeToString()

    def submit(self, spec_bytes: bytes) -> str:
        """Starts the job on a thread of this process; returns its id."""
        spec = self._spec(spec_bytes)
        refuse_untracked_registry(spec, None, "the debug server does not record jobs in MLflow")
        job = _Job("debug-" + uuid.uuid4().hex[:12])
        with self._lock:
            self._jobs[job.job_id] = job
        threading.Thread(target=self._run, args=(job, spec), name=job.job_id, daemon=True).start()
        return job.job_id

    def nextEvent(self, job_id: str, sequence: int, wait_millis: int) -> bytes | None:  # noqa: N802
        """The serialized JobEvent number `sequence`, waiting up to `wait_millis` for it."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise KeyError(f"no job {job_id!r}")
        return job.next(int(sequence), wait_millis / 1000)

    def artifactDirectory(self, job_id: str) -> str:  # noqa: N802
        """Where a succeeded job's artifact lies on this machine (the gateway is loopback-only,
        so the caller shares the filesystem)."""
        job = self._jobs.get(job_id)
        if job is None or job.artifact_dir is None:
            raise KeyError(f"job {job_id!r} has no artifact")
        return str(job.artifact_dir)

    def _spec(self, spec_bytes: bytes) -> DistillSpec:
        """The door contract: parse -> DistillSpec -> check (a local run: no upload store)."""
        return check(spec_from_proto(pb.DistillSpec.FromString(bytes(spec_bytes))), None)

    def _run(self, job: _Job, spec: DistillSpec) -> None:
        def on_event(event: Event) -> None:
            job.append(event_to_proto(event))

        finished = pb.FinishedEvent(state=pb.JOB_STATE_FAILED)
        try:
            result = run_local(spec, self._home, on_event)  # `submit` checked it
            job.artifact_dir = result.download(self._home / "debug" / job.job_id)
            finished = pb.FinishedEvent(
                state=pb.JOB_STATE_SUCCEEDED, result=_result_proto(result, job.artifact_dir)
            )
        except JobCancelled as e:
            finished = pb.FinishedEvent(state=pb.JOB_STATE_CANCELLED, error=str(e))
        except (DistillError, SpecError) as e:
            finished.error = str(e)
        except Exception as e:  # a debugging server reports every failure to its caller
            log.exception("debug job %s failed with an internal error", job.job_id)
            finished.error = f"internal error: {type(e).__name__}: {e}"
        job.append(pb.JobEvent(finished=finished))


def _result_proto(result, artifact_dir: Path) -> pb.DistillResult:
    files = [
        pb.ArtifactFile(name=name, size_bytes=p.stat().st_size, sha256=sha256_file(p))
        for name in artifact_members(artifact_dir)
        for p in [artifact_dir / name]
    ]
    return pb.DistillResult(
        metrics=result.metrics,
        manifest_json=(artifact_dir / MANIFEST).read_text(),
        files=files,
    )


def _now() -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(time.time_ns())
    return ts


@dataclass(frozen=True)
class DebugServer:
    """A running gateway; `port` is where JVM callers connect, with `auth_token`."""

    port: int
    auth_token: str
    connection_file: Path
    _gateway: object

    def shutdown(self) -> None:
        self._gateway.shutdown()  # type: ignore[attr-defined]


def start_debug_server(home: Path, port: int, connection_file: Path) -> DebugServer:
    """Starts the Py4J gateway on 127.0.0.1:`port` (0 = any free port) with a fresh auth token
    and writes {"port", "auth_token"} to `connection_file`, readable by the owner only."""
    from py4j.clientserver import ClientServer, JavaParameters, PythonParameters

    token = secrets.token_urlsafe(32)
    gateway = ClientServer(
        # This side never calls into the JVM: the Java side starts no server to call back.
        java_parameters=JavaParameters(address=LOOPBACK, auth_token=token, auto_convert=False),
        python_parameters=PythonParameters(
            address=LOOPBACK, port=port, auth_token=token, daemonize=True
        ),
        python_server_entry_point=DebugEntryPoint(home),
    )
    actual = gateway.get_callback_server().get_listening_port()
    connection_file.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a temporary name, then renamed: a reader polling for the file (it is
    # the debug server's readiness signal) never sees half of it.
    partial = connection_file.with_name(connection_file.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"host": LOOPBACK, "port": actual, "auth_token": token}, f)
    os.replace(partial, connection_file)
    return DebugServer(actual, token, connection_file, gateway)


__all__ = ["DebugEntryPoint", "DebugServer", "start_debug_server"]
