"""Jobs on a Ray cluster: each job is a `_NodeAgent` actor placed by Ray on a node with the CPUs,
GPUs and memory the job asks for.

- **Inputs** (a teacher file or Hugging Face directory, dataset files) travel through Ray's
  object store: the server reads them under its data root, the agent writes them into a
  temporary directory on its node. No shared filesystem is needed.
- **The worker** is the same as the local executor's (worker.py), spawned by the agent on its
  node in its own process group; the agent relays its messages. When the agent dies (cancel kills
  it, or its node is lost) the worker's watchdog ends the worker's process group.
- **The artifact** comes back as the agent's return value, through the object store, and is
  checked against its manifest's hashes before the job manager publishes it: artifacts are a few
  MB, and the server's artifact store must not depend on a volume the nodes share.
"""

from __future__ import annotations

import collections
import logging
import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from bridge.cache_budget import CacheBudget
from bridge.errors import first_line, one_line
from bridge.events import LogEvent
from bridge.export.manifest import artifact_members, member_path, read_manifest, verify_files
from bridge.paths import default_home, resolve_under_root
from bridge.server.executors import LocalExecution, Message
from bridge.server.ray_resources import RayResources
from bridge.server.worker import KILL_GRACE_SECONDS
from bridge.spec import DistillSpec, SpecError

log = logging.getLogger("bridge.server.ray")
NAMESPACE = "distill-bridge"
Bundle = dict[str, bytes]  # "" -> the file itself; else a directory's files by relative path


# ---------------------------------------------------------------- inputs


def _path_fields(spec: DistillSpec) -> dict[str, str]:
    """The spec's fields that may name a file or directory, with their values."""
    fields = {
        "teacher": spec.teacher,
        "dataset.path": spec.dataset.path or "",
        "dataset.validation_path": spec.dataset.validation_path or "",
        "dataset.test_path": spec.dataset.test_path or "",
    }
    if spec.is_self_distillation:
        fields["self_distillation.tokenizer"] = spec.self_distillation.tokenizer
    return {k: v for k, v in fields.items() if v}


def pack_inputs(spec: DistillSpec, data_root: Path) -> dict[str, tuple[str, Bundle]]:
    """The files the spec names, read on the server: field -> (file name, bundle). Values that
    are not paths (zoo teachers, built-in datasets) stay as they are."""
    packed = {}
    for name, raw in _path_fields(spec).items():
        try:
            path = resolve_under_root(raw, data_root, name)
        except SpecError as e:
            if e.kind == "not_found":  # not a file: a zoo or built-in name, for the node
                continue
            raise
        if path.is_file():
            packed[name] = (path.name, {"": path.read_bytes()})
        else:
            members = sorted(p for p in path.rglob("*") if p.is_file())
            packed[name] = (
                path.name,
                {p.relative_to(path).as_posix(): p.read_bytes() for p in members},
            )
    return packed


def unpack_inputs(
    spec: DistillSpec, packed: dict[str, tuple[str, Bundle]], directory: Path
) -> DistillSpec:
    """On the node: writes the bundles under `directory` and points the spec at them."""
    for name, (file_name, bundle) in packed.items():
        target = directory / name / file_name
        for relative, data in bundle.items():
            path = member_path(target, relative) if relative else target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        spec = _with_field(spec, name, str(target))
    return spec


def _with_field(spec: DistillSpec, name: str, value: str) -> DistillSpec:
    if name == "teacher":
        return replace(spec, teacher=value)
    if name == "self_distillation.tokenizer":
        return replace(spec, self_distillation=replace(spec.self_distillation, tokenizer=value))
    field = name.removeprefix("dataset.")
    return replace(spec, dataset=replace(spec.dataset, **{field: value}))


# ---------------------------------------------------------------- on the node


class _NodeAgent:
    """A Ray actor with three threads: `run` works while `drain` answers the server and
    `cancel` can end the worker."""

    def __init__(self) -> None:
        self._messages: collections.deque[Message] = collections.deque()
        self._ready = threading.Condition()
        self._worker: LocalExecution | None = None
        self._work: Path | None = None
        self._cancelled = False

    def run(
        self,
        spec: DistillSpec,
        packed: dict[str, tuple[str, Bundle]],
        job_id: str,
        node_home: str | None,
        budget: CacheBudget | None = None,
    ) -> dict[str, bytes] | None:
        """Runs the job on this node; the artifact's files on success, None otherwise (the
        outcome message says why)."""
        import ray

        from bridge.server.executors import LocalExecutor
        from bridge.server.jobs import ServerPaths

        context = ray.get_runtime_context()
        node = f"Ray node {ray.util.get_node_ip_address()} ({context.get_node_id()[:12]})"
        home = Path(node_home) if node_home else default_home()
        self._work = work = _work_directory(home, job_id)
        try:
            (work / "inputs").mkdir()
            spec = unpack_inputs(spec, packed, work / "inputs")
            if self._cancelled:
                return None
            # the local executor's worker, on this node; it joins the cluster for Ray Train
            paths = ServerPaths(home, work / "inputs", budget or CacheBudget())
            executor = LocalExecutor(paths, ray_address=context.gcs_address)
            self._worker = worker = executor.start(job_id, spec, work / "artifact")
            self._put(("event", LogEvent(f"running on {node}, worker {worker.where}")))
            outcome = self._relay(worker)
            if outcome is None:
                outcome = ("error", f"{worker.failure()} on {node}")
            else:
                worker.collect(work / "artifact")  # waits for the worker to end
            files = _read_artifact(work / "artifact") if outcome[0] == "ok" else None
            self._put(outcome)
            return files
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def cancel(self) -> None:
        """Ends the worker's process group and removes its files; `run` then returns."""
        self._cancelled = True
        if self._worker is not None:
            self._worker.stop()
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)

    def _relay(self, worker: LocalExecution) -> Message | None:
        """Passes the worker's events and logs on; returns its outcome (None: it died)."""
        while True:
            message = worker.next_message(timeout=0.5)
            if message is None:
                if not worker.alive():
                    return None
            elif message[0] in ("ok", "error"):
                return message
            else:
                self._put(message)

    def _put(self, message: Message) -> None:
        with self._ready:
            self._messages.append(message)
            self._ready.notify_all()

    def drain(self, wait_seconds: float) -> list[Message]:
        """Every message not yet taken, waiting up to `wait_seconds` for the first."""
        with self._ready:
            if not self._messages:
                self._ready.wait(timeout=wait_seconds)
            taken = list(self._messages)
            self._messages.clear()
        return taken


def _work_directory(home: Path, job_id: str) -> Path:
    """`home/ray-work/<job>.<agent pid>`: inputs and the artifact while the job runs. Directories
    of agents that died without cleaning up (their node was lost, or they were killed) are
    removed first; agents sharing a home share a machine, so their pids are comparable."""
    root = home / "ray-work"
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.iterdir():
        pid = stale.suffix.removeprefix(".")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    work = root / f"{job_id}.{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    return work


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _read_artifact(directory: Path) -> dict[str, bytes]:
    return {name: member_path(directory, name).read_bytes() for name in artifact_members(directory)}


# ---------------------------------------------------------------- on the server


class RayExecution:
    """One job's agent, seen from the server. After the executor closed (server shutdown) no
    method calls Ray again: a call would quietly start or join another Ray instance."""

    def __init__(self, agent: Any, run_ref: Any, actor_id: str, closed: threading.Event) -> None:
        self.agent = agent
        self.closed = closed
        self.run_ref = run_ref
        self.where = f"Ray actor {actor_id}"
        self.worker_pid: int | None = None
        self._pending: collections.deque[Message] = collections.deque()
        self._lost: str | None = None
        self._stopped = False
        self._stop_lock = threading.Lock()

    def next_message(self, timeout: float) -> Message | None:
        if not self._pending and self._lost is None and not self.closed.is_set():
            self._pull(timeout)
        return self._pending.popleft() if self._pending else None

    def alive(self) -> bool:
        import ray

        if self._lost is not None or self.closed.is_set():
            return False
        ready, _ = ray.wait([self.run_ref], timeout=0)
        # Finished: whatever it said last may still wait in the agent.
        return not ready or self._pull(0.0)

    def failure(self) -> str:
        import ray

        if self._lost is not None:
            return self._lost
        if self.closed.is_set():
            return "the server is shutting down"
        try:
            ray.get(self.run_ref, timeout=5.0)
        except Exception as e:  # the reason Ray gives is the job's failure
            return self._describe_loss(e)
        return "the job's Ray actor ended without an outcome"

    def collect(self, staging: Path) -> None:
        import ray

        if self.closed.is_set():
            raise OSError("the server is shutting down")
        files = ray.get(self.run_ref)
        if not files:
            raise OSError("the Ray actor returned no artifact")
        shutil.rmtree(staging, ignore_errors=True)
        for name, data in files.items():
            path = member_path(staging, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        problems = verify_files(staging, read_manifest(staging))
        if problems:
            raise OSError(
                "the artifact from the Ray node fails its manifest: " + "; ".join(problems)
            )

    def stop(self) -> None:
        import ray

        with self._stop_lock:
            if self._stopped or self.closed.is_set():
                return
            self._stopped = True
        try:  # the agent ends the worker's process group and removes its files, then goes
            ray.get(self.agent.cancel.remote(), timeout=KILL_GRACE_SECONDS + 10.0)
        except Exception as e:  # a lost or stuck agent: killing it still ends its worker
            log.debug("agent.cancel: %s", one_line(e))
        try:
            ray.kill(self.agent, no_restart=True)
        except Exception as e:  # already gone with its node: nothing left to stop
            log.debug("ray.kill: %s", one_line(e))

    def _pull(self, timeout: float) -> bool:
        """Takes the agent's waiting messages (True if any); a dead agent marks the job lost."""
        import ray

        try:
            batch = ray.get(self.agent.drain.remote(timeout), timeout=timeout + 30.0)
        except ray.exceptions.GetTimeoutError:
            return False
        except ray.exceptions.RayError as e:
            self._lost = self._describe_loss(e)
            return False
        self._pending.extend(batch)
        return bool(batch)

    def _describe_loss(self, e: BaseException) -> str:
        import ray

        if isinstance(e, ray.exceptions.ActorDiedError | ray.exceptions.RayActorError):
            return f"the Ray node running the job was lost ({self.where}): {_first_line(e)}"
        return f"the job's Ray actor failed: {_first_line(e)}"


def _forwarded_environment() -> dict[str, Any] | None:
    """The server's settings a worker reads from its environment (the Java classpath of the
    in-JVM check), for the node; the path must exist there too."""
    from bridge.jvm import ENV_CLASSPATH

    value = os.environ.get(ENV_CLASSPATH)
    return None if value is None else {"env_vars": {ENV_CLASSPATH: value}}


def _first_line(e: BaseException) -> str:
    return first_line(str(e)) or type(e).__name__


class RayExecutor:
    """Connects to a running Ray cluster (`ray start --head` prints the address) and runs each
    job as an actor there."""

    name = "ray"

    def __init__(
        self,
        address: str,
        data_root: Path,
        resources: RayResources | None = None,
        node_home: Path | None = None,
        teacher_cache_budget: CacheBudget | None = None,
    ) -> None:
        import ray

        self.teacher_cache_budget = teacher_cache_budget or CacheBudget()
        self.data_root = data_root
        self.resources = resources or RayResources()
        self.node_home = str(node_home) if node_home else None
        try:
            ray.init(
                address=address,
                namespace=NAMESPACE,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise ConnectionError(
                f"cannot connect to the Ray cluster at {address!r}: {_first_line(e)}"
            ) from e
        self._agent_class = ray.remote(_NodeAgent)
        self._closed = threading.Event()

    def start(self, job_id: str, spec: DistillSpec, staging: Path) -> RayExecution:
        import ray

        packed = ray.put(pack_inputs(spec, self.data_root))
        agent = self._agent_class.options(
            max_concurrency=3,
            max_restarts=0,
            runtime_env=_forwarded_environment(),
            **self.resources.actor_options(),
        ).remote()
        run_ref = agent.run.remote(spec, packed, job_id, self.node_home, self.teacher_cache_budget)
        return RayExecution(agent, run_ref, agent._actor_id.hex()[:12], self._closed)

    def close(self) -> None:
        import ray

        self._closed.set()
        ray.shutdown()
