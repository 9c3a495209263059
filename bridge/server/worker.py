"""A job's worker process: runs the pipeline and reports over the job's queue, as tuples
(kind, payload): ("event", Event), ("log", record fields), then one outcome, ("ok", result) or
("error", message). Ending one: `kill_tree`.

A failure reaches the job as one line. A `SpecError` or `DistillError` is the job's own failure
and its message says everything; anything else is a bug: its full traceback goes to the server
log (the worker's log records travel to the server, which writes them in its own format) and
the job says "internal error: <type>: <message> (<file>:<line>)".
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.errors import DistillError, one_line
from bridge.events import Event
from bridge.paths import trust_directory
from bridge.server import logs
from bridge.spec import DistillSpec, SpecError

if TYPE_CHECKING:
    from bridge.server.jobs import ServerPaths

KILL_GRACE_SECONDS = 3.0
# Beside the worker's output directory: the job's temp files, removed with the job's scratch.
SCRATCH = "tmp"
log = logging.getLogger("bridge.server.worker")


def worker_main(
    spec: DistillSpec,
    out_dir: Path,
    paths: ServerPaths,
    job_id: str,
    events: mp.Queue,
    server_pid: int,
    ray_address: str | None = None,
) -> None:
    """Entry point of a worker process. Its own process group, so cancel ends its children;
    a watchdog ends the group when the server dies (even by SIGKILL), so no orphan trains on."""
    os.setpgrp()
    threading.Thread(target=_watch_parent, args=(server_pid,), daemon=True).start()
    _use_scratch(out_dir.parent / SCRATCH)
    forwarding = logs.forward_to(events, job_id)
    trust_directory(paths.uploads)
    from bridge.pipeline import RunContext, run  # heavy imports stay out of the server

    def on_event(event: Event) -> None:
        events.put(("event", event))

    ctx = RunContext(
        home=paths.home,
        data_root=paths.data_root,
        job_id=job_id,
        ray_address=ray_address,
        teacher_cache_budget=paths.teacher_cache_budget,
    )
    try:
        result = run(spec, out_dir, ctx, on_event)
        events.put(("ok", {"metrics": result.metrics}))
    except Exception as e:  # report anything, with where it happened, instead of dying silently
        events.put(("error", failure_message(e, job_id)))
    finally:
        logging.getLogger().removeHandler(forwarding)
        events.close()
        events.join_thread()


def _use_scratch(directory: Path) -> None:
    """Temp files of this worker and of what it starts (quantization's child, the JVM) go under
    the job's directory, which the server clears when the job ends: a worker killed mid-write
    (cancel, kill -9) leaves nothing in the system's temp directory."""
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(directory)
    tempfile.tempdir = str(directory)


def failure_message(e: Exception, job_id: str) -> str:
    """The job's error, one line. An internal error (not a SpecError or DistillError) is also
    logged with its traceback."""
    if isinstance(e, SpecError | DistillError):
        return str(e)
    where = traceback.extract_tb(e.__traceback__)[-1]
    message = f"internal error: {one_line(e)} ({Path(where.filename).name}:{where.lineno})"
    log.error("%s", message, exc_info=e, extra=logs.job(job_id))
    return message


def _watch_parent(server_pid: int) -> None:
    """Polls for reparenting: once the server is gone, SIGKILL this worker's process group."""
    while os.getppid() == server_pid:
        time.sleep(1.0)
    os.killpg(0, signal.SIGKILL)


def kill_tree(process: mp.process.BaseProcess) -> None:
    """SIGTERM the worker's process group, then SIGKILL whatever of the group is left (data
    loader children included) once the worker is gone or the grace period ends."""
    pid = process.pid
    if pid is None:
        return
    _signal_tree(pid, signal.SIGTERM)
    process.join(timeout=KILL_GRACE_SECONDS)
    _signal_tree(pid, signal.SIGKILL)
    process.join(timeout=5.0)


def kill_group(process: mp.process.BaseProcess) -> None:
    """SIGKILL what is left of a dead worker's process group (its children outlive it). Called
    as soon as the death is seen: the group keeps the worker's pid from being reused while any
    member lives."""
    if process.pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def _signal_tree(pid: int, sig: int) -> None:
    # The group exists once the worker ran os.setpgrp(); before that only the process does.
    for send in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            send(pid, sig)
