"""Where a job's worker runs. `LocalExecutor`: a spawned process on the server's machine (the
default; no Ray needed). `RayExecutor`: an actor on whichever node of a Ray cluster has the
resources the job asks for (bridge/server/ray_executor.py).

Either way the job manager sees an `Execution`: the worker's messages in order (worker.py:
("event" | "log", payload) ..., then one outcome, ("ok" | "error", payload)), whether it still
runs, why it ended without an outcome, a way to stop it, and `collect`, which leaves the
artifact in the job's staging directory once the outcome is "ok".
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bridge.server.worker import KILL_GRACE_SECONDS, kill_group, kill_tree, worker_main
from bridge.spec import DistillSpec

if TYPE_CHECKING:
    from bridge.server.jobs import ServerPaths

Message = tuple[str, Any]


class Execution(Protocol):
    where: str  # for events and logs: "pid 1234", "Ray node 10.0.0.7 (a1b2c3d4e5f6)"
    worker_pid: int | None

    def next_message(self, timeout: float) -> Message | None:
        """The worker's next message, or None when none came within `timeout` seconds."""
        ...

    def alive(self) -> bool: ...

    def failure(self) -> str:
        """Why the worker ended without reporting an outcome (it died, its node was lost)."""
        ...

    def collect(self, staging: Path) -> None:
        """After an "ok" outcome: the artifact's files in `staging` (raises OSError if not)."""
        ...

    def stop(self) -> None:
        """Ends the worker and everything it started; safe to call more than once."""
        ...


class Executor(Protocol):
    name: str

    def start(self, job_id: str, spec: DistillSpec, staging: Path) -> Execution: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- local processes


@dataclass
class LocalExecution:
    process: mp.process.BaseProcess
    messages: mp.Queue

    @property
    def where(self) -> str:
        return f"pid {self.process.pid}"

    @property
    def worker_pid(self) -> int | None:
        return self.process.pid

    def next_message(self, timeout: float) -> Message | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def alive(self) -> bool:
        return self.process.is_alive()

    def failure(self) -> str:
        self.process.join(timeout=KILL_GRACE_SECONDS)
        kill_group(self.process)  # what the dead worker started (e.g. quantization's child)
        return f"worker process died unexpectedly (exit code {self.process.exitcode})"

    def collect(self, staging: Path) -> None:
        self.process.join(timeout=KILL_GRACE_SECONDS)  # the worker wrote `staging` itself

    def stop(self) -> None:
        if self.process.exitcode is None:  # an ended worker's pid may belong to another process
            kill_tree(self.process)


class LocalExecutor:
    """One spawned worker process per job (its own process group: cancel ends its children)."""

    name = "local"

    def __init__(self, paths: ServerPaths, ray_address: str | None = None) -> None:
        self.paths = paths
        self.ray_address = ray_address  # set on a Ray node: workers > 1 train with Ray Train
        self._mp = mp.get_context("spawn")

    def start(self, job_id: str, spec: DistillSpec, staging: Path) -> LocalExecution:
        messages: mp.Queue = self._mp.Queue()
        process = self._mp.Process(
            target=worker_main,
            name=f"distill-{job_id}",
            daemon=True,
            args=(spec, staging, self.paths, job_id, messages, os.getpid(), self.ray_address),
        )
        process.start()
        return LocalExecution(process, messages)

    def close(self) -> None:
        pass
