"""Every job in MLflow: a run with the spec as params, the training curves and final metrics,
the report and manifest as artifacts; a job that passed its gates becomes a new version of a
registered model, which may take an alias (e.g. "champion") when it beats the version holding
it on the same test split.

Used by the doors (the server's job manager, local `Distiller` runs, the CLI); the pipeline
knows nothing of it. MLflow is optional: `mlflow` is imported only on the tracker's thread.

Failure is not contagious: every MLflow call runs on one background thread per job, behind a
bounded queue that training only ever puts to without waiting; HTTP calls are bounded in time
(`MLFLOW_HTTP_REQUEST_TIMEOUT` / `_MAX_RETRIES`, small defaults unless the environment sets
them). The first failure becomes one warning event and an `on_error` call, and the tracker
stops talking to MLflow for that job; the job itself goes on. Credentials come from the
environment as MLflow reads them (`MLFLOW_TRACKING_USERNAME` / `_PASSWORD` / `_TOKEN`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import math
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bridge.errors import one_line
from bridge.events import (
    Event,
    EventSink,
    LogEvent,
    MlflowRun,
    ProgressEvent,
    StageEvent,
    ValidationEvent,
)
from bridge.spec import DistillSpec, SpecError

TRACKING_URI_FLAG = "--mlflow-tracking-uri"
ALIAS_FLAG = "--mlflow-alias"
DEFAULT_EXPERIMENT = "distill-bridge"
# HTTP bounds unless the environment says otherwise (MLflow's own defaults: 120 s, 7 retries).
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",  # a server's stdout is not a notebook
}
URI_SCHEMES = ("http", "https", "file", "sqlite", "postgresql", "mysql", "databricks")
QUEUE_LIMIT = 2000  # pending calls; past it, epoch metrics are dropped (and counted)
BATCH_LIMIT = 1000  # MLflow's most metrics per log_batch
PARAM_BATCH = 100  # MLflow's most params per log_batch
PARAM_VALUE_LIMIT = 6000
ALIAS = re.compile(r"[A-Za-z0-9_-]{1,255}")
TAG = "distillbridge."
REPORT_FILES = ("report/report.md", "report/loss_curves.png")
# What failed first (the `on_error` argument, a metric label) and how events say it.
OPERATIONS = {
    "start_run": "starting the run",
    "log_metrics": "logging metrics",
    "finish_run": "finishing the run (final metrics, artifacts, registration)",
}
log = logging.getLogger("bridge.tracking")


@dataclass(frozen=True)
class MlflowSettings:
    """Where and how jobs are recorded. `experiment` "" = `$MLFLOW_EXPERIMENT_NAME` or
    "distill-bridge"; `finish_timeout_s`: how long a job's end waits for its last MLflow calls
    (artifacts, registration) before it finishes anyway and they go on in the background."""

    tracking_uri: str
    alias: str = ""
    experiment: str = ""
    finish_timeout_s: float = 60.0

    def check(self, uri_flag: str = TRACKING_URI_FLAG, alias_flag: str = ALIAS_FLAG) -> None:
        """Raises `SpecError` naming the flag (or argument) that is wrong."""
        check_tracking_uri(uri_flag, self.tracking_uri)
        if self.alias:
            check_alias(alias_flag, self.alias)
        if importlib.util.find_spec("mlflow") is None:
            raise SpecError(
                uri_flag,
                "needs the mlflow package, which is not installed here "
                "(pip install 'distill-bridge[mlflow]')",
            )

    @property
    def experiment_name(self) -> str:
        return self.experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT

    def run_url(self, experiment_id: str, run_id: str) -> str:
        if urlparse(self.tracking_uri).scheme not in ("http", "https"):
            return ""
        return f"{self.tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def check_tracking_uri(flag: str, uri: str) -> None:
    parsed = urlparse(uri)
    if parsed.scheme not in URI_SCHEMES:
        raise SpecError(
            flag,
            f"expected a tracking URI such as http://mlflow.internal:5000 "
            f"(schemes: {', '.join(URI_SCHEMES)}), got {uri!r}",
        )
    if parsed.scheme in ("http", "https"):
        try:
            port_ok = parsed.port is None or parsed.port > 0
        except ValueError:
            port_ok = False
        if not parsed.hostname or not port_ok or parsed.query or parsed.fragment:
            raise SpecError(flag, f"expected http(s)://HOST[:PORT][/PATH], got {uri!r}")


def check_alias(flag: str, alias: str) -> None:
    if not ALIAS.fullmatch(alias) or alias.lower() == "latest" or re.fullmatch(r"v\d+", alias):
        raise SpecError(
            flag,
            "letters, digits, '_' and '-' (not 'latest' or v<number>, which MLflow reserves), "
            f"got {alias!r}",
        )


def refuse_untracked_registry(spec: DistillSpec, tracking: MlflowSettings | None, how: str) -> None:
    """A registered model name only means something where the job is tracked: where it is not,
    the job is refused naming the field (`how`: what turns tracking on at that door), so the
    name is never silently dropped."""
    if spec.registered_model_name and tracking is None:
        raise SpecError(
            "registered_model_name",
            f"{spec.registered_model_name!r} names an MLflow registered model, but this job is "
            f"not recorded in MLflow: {how}",
        )


def registry_name(spec: DistillSpec) -> str:
    """The registered model a job's artifact joins: the spec's `registered_model_name`, else its
    `name`, else "<dataset>-<student kind>-student" (made safe for MLflow's registry)."""
    if spec.registered_model_name:
        return spec.registered_model_name
    raw = spec.name or f"{spec.dataset.display_name}-{spec.student.architecture}-student"
    safe = re.sub(r"[^A-Za-z0-9_. -]+", "-", raw).strip(" -.")
    return safe[:256] or "distilled-model"


def flatten_params(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{"training": {"temperature": 4.0}} -> {"training.temperature": "4.0"}; lists of objects
    by index (training.schedule.stages.0.name), other lists as JSON, None as "None"."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_params(value, name + "."))
        elif isinstance(value, list | tuple) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                flat.update(flatten_params(item, f"{name}.{i}."))
        elif isinstance(value, list | tuple):
            flat[name] = json.dumps(list(value))
        else:
            flat[name] = str(value)[:PARAM_VALUE_LIMIT]
    return flat


def test_split_identity(manifest: dict) -> str:
    """Which test rows an accuracy was measured on: the dataset's fingerprint, its split and its
    row counts. Versions compare for an alias only when this is equal."""
    dataset = manifest.get("dataset", {})
    key = {k: dataset.get(k) for k in ("fingerprint", "rows", "split")}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def shipped_accuracy(manifest: dict, metrics: dict[str, float]) -> tuple[str, float]:
    """The file a caller runs (INT8 when it shipped) and its test accuracy."""
    models = manifest.get("models", {})
    if models.get("int8") and "student_int8_accuracy" in metrics:
        return models["int8"], float(metrics["student_int8_accuracy"])
    return models.get("fp32", "model.onnx"), float(metrics.get("student_accuracy", math.nan))


# ---------------------------------------------------------------- per-epoch metrics


@dataclass
class _Curves:
    """Turns the pipeline's step events into per-epoch metrics (step = epoch)."""

    losses: list[tuple[float, float, float]] = field(default_factory=list)
    last: ProgressEvent | None = None
    stages: list[str] = field(default_factory=list)

    def points(self, event: Event) -> list[tuple[str, float, int]]:
        if isinstance(event, ProgressEvent):
            self.losses.append((event.loss, event.soft_loss, event.hard_loss))
            self.last = event
        elif isinstance(event, StageEvent) and event.stage.startswith("train."):
            self.stages.append(event.stage.removeprefix("train."))
        elif isinstance(event, ValidationEvent):
            return self._epoch(event)
        return []

    def _epoch(self, event: ValidationEvent) -> list[tuple[str, float, int]]:
        step = event.epoch
        points = [("val_accuracy", event.accuracy, step), ("val_loss", event.loss, step)]
        if self.losses:
            n = len(self.losses)
            for i, name in enumerate(("train_loss", "train_soft_loss", "train_hard_loss")):
                points.append((name, sum(x[i] for x in self.losses) / n, step))
        if self.last is not None:
            points += [
                ("learning_rate", self.last.learning_rate, step),
                ("temperature", self.last.temperature, step),
                ("alpha", self.last.alpha, step),
            ]
        if self.stages:  # the stage the epoch ended in, by its index (names in a run tag)
            points.append(("schedule_stage", float(len(self.stages) - 1), step))
        self.losses = []
        return [p for p in points if math.isfinite(p[1])]


# ---------------------------------------------------------------- the tracker


@dataclass(frozen=True)
class Finished:
    """How a job ended, for the tracker's last calls. `artifact_dir` only on success."""

    status: str  # MLflow's: FINISHED, FAILED, KILLED
    metrics: dict[str, float] = field(default_factory=dict)
    artifact_dir: Path | None = None
    manifest: dict = field(default_factory=dict)


class JobTracker:
    """One job's MLflow run. `observe` every event (never blocks), `finish` once, then `close`.
    `emit` gets the tracker's own events (MlflowRun, warnings, the alias decision), from the
    tracker's thread; `on_error(operation)` is called once, at the first failure."""

    def __init__(
        self,
        settings: MlflowSettings,
        spec: DistillSpec,
        job_id: str,
        emit: EventSink,
        on_error: Callable[[str], None] = lambda _operation: None,
        version: str = "",
    ) -> None:
        self.settings = settings
        self.spec = spec
        self.job_id = job_id
        self._emit = emit
        self._on_error = on_error
        self._version = version or _bridge_version()
        self._ops: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        self._curves = _Curves()
        self._dropped = 0
        self._broken = False
        self._client: Any = None
        self.run: MlflowRun | None = None
        self._thread = threading.Thread(target=self._work, daemon=True, name=f"mlflow-{job_id}")

    def start(self) -> JobTracker:
        self._thread.start()
        return self

    def observe(self, event: Event) -> None:
        points = self._curves.points(event)
        if points:
            try:
                self._ops.put_nowait(("metrics", points))
            except queue.Full:  # MLflow is slower than training: drop points, never wait
                self._dropped += len(points)

    def finish(self, finished: Finished) -> None:
        try:
            self._ops.put(("finish", finished), timeout=self.settings.finish_timeout_s)
        except queue.Full:
            self._fail("finish_run", TimeoutError("the MLflow queue did not drain"))

    def abandon(self, finished: Finished) -> None:
        """`finish` and `close` without waiting for anything (a failed or cancelled job, under
        its door's lock): the run ends in the background, or stays open if the queue is full."""
        for op in (("finish", finished), None):
            try:
                self._ops.put_nowait(op)
            except queue.Full:
                self._dropped += 1

    def close(self, timeout: float | None = None) -> bool:
        """Waits up to `timeout` (default: the settings') for the tracker's last calls; False
        when they are still going (they go on in the background)."""
        wait = self.settings.finish_timeout_s if timeout is None else timeout
        with contextlib.suppress(queue.Full):  # then the join below waits all the same
            self._ops.put(None, timeout=max(wait, 0.1))
        self._thread.join(wait)
        if self._thread.is_alive():
            self._say(f"MLflow: not done after {wait:.0f} s; the rest goes on in the background")
            return False
        return True

    # ------------------------------------------------------------ the tracker's thread

    def _work(self) -> None:
        try:
            self._start_run()
        except Exception as e:  # unreachable server, bad credentials, missing package
            self._fail("start_run", e)
        while True:
            op = self._ops.get()
            if op is None:
                return
            if self._broken:
                continue
            kind, payload = op
            try:
                if kind == "metrics":
                    self._log_points(payload + self._more_points())
                else:
                    self._finish(payload)
            except Exception as e:
                self._fail("log_metrics" if kind == "metrics" else "finish_run", e)

    def _more_points(self) -> list[tuple[str, float, int]]:
        """Metrics already queued behind the first: one log_batch instead of many."""
        points: list[tuple[str, float, int]] = []
        while len(points) < BATCH_LIMIT // 2:
            try:
                op = self._ops.get_nowait()
            except queue.Empty:
                break
            if op is None or op[0] != "metrics":
                with self._ops.mutex:  # keep its place: the sentinel or finish
                    self._ops.queue.appendleft(op)
                break
            points += op[1]
        return points

    def _start_run(self) -> None:
        self._client = _mlflow_client(self.settings)
        experiment_id = self._experiment_id()
        spec = self.spec
        tags = {
            f"{TAG}job_id": self.job_id,
            f"{TAG}teacher": spec.teacher or spec.teacher_upload_id,
            f"{TAG}dataset": spec.dataset.display_name,
            f"{TAG}student_kind": spec.student.architecture,
            f"{TAG}version": self._version,
        }
        run_name = f"{spec.name} ({self.job_id})" if spec.name else self.job_id
        run = self._client.create_run(experiment_id, tags=tags, run_name=run_name)
        run_id = run.info.run_id
        self.run = MlflowRun(run_id, self.settings.run_url(experiment_id, run_id), experiment_id)
        self._emit(self.run)
        self._log_params(flatten_params(spec.to_dict()))

    def _experiment_id(self) -> str:
        from mlflow.exceptions import MlflowException

        name = self.settings.experiment_name
        found = self._client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return self._client.create_experiment(name)
        except MlflowException:  # another job created it meanwhile
            return self._client.get_experiment_by_name(name).experiment_id

    def _log_params(self, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in sorted(params.items())]
        for i in range(0, len(items), PARAM_BATCH):
            self._client.log_batch(self._run_id, params=items[i : i + PARAM_BATCH])

    def _log_points(self, points: list[tuple[str, float, int]]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, int(s)) for k, v, s in points]
        for i in range(0, len(metrics), BATCH_LIMIT):
            self._client.log_batch(self._run_id, metrics=metrics[i : i + BATCH_LIMIT])

    def _finish(self, finished: Finished) -> None:
        finals = {k: v for k, v in finished.metrics.items() if math.isfinite(float(v))}
        self._log_points([(k, float(v), 0) for k, v in sorted(finals.items())])
        if self._curves.stages:
            names = " ".join(f"{i}:{n}" for i, n in enumerate(self._curves.stages))
            self._client.set_tag(self._run_id, f"{TAG}schedule_stages", names)
        if self._dropped:
            self._say(f"MLflow: {self._dropped} epoch metric points dropped (queue full)")
        if finished.artifact_dir is not None:
            self._log_artifacts(finished.artifact_dir)
            self._register(finished)
        self._client.set_terminated(self._run_id, status=finished.status)

    def _log_artifacts(self, directory: Path) -> None:
        for name in REPORT_FILES:
            if (directory / name).is_file():
                self._client.log_artifact(self._run_id, str(directory / name), "report")
        self._client.log_artifact(self._run_id, str(directory / "manifest.json"))
        # The registered version: the whole artifact, as DistilledModel.load and `distill-bridge
        # inspect` check it (every file's SHA-256 is in its manifest).
        self._client.log_artifacts(self._run_id, str(directory), "model")

    def _register(self, finished: Finished) -> None:
        from mlflow.exceptions import MlflowException

        assert finished.artifact_dir is not None and self.run is not None
        name = registry_name(self.spec)
        try:
            self._client.create_registered_model(name)
        except MlflowException as e:
            if e.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        shipped, accuracy = shipped_accuracy(finished.manifest, finished.metrics)
        split = test_split_identity(finished.manifest)
        version = self._client.create_model_version(
            name,
            source=f"runs:/{self._run_id}/model",
            run_id=self._run_id,
            tags=self._version_tags(finished, shipped, accuracy, split),
            description=f"Distill Bridge job {self.job_id}: {self.spec.teacher} -> "
            f"{self.spec.student.architecture} student on {self.spec.dataset.display_name}",
            await_creation_for=0,  # READY at once: MLflow copies nothing for a runs:/ source
        ).version
        self.run = MlflowRun(
            self.run.run_id, self.run.run_url, self.run.experiment_id, name, str(version)
        )
        self._emit(self.run)
        self._say(f"MLflow: registered {shipped} as version {version} of {name!r}")
        if self.settings.alias:
            self._say(self._decide_alias(name, str(version), accuracy, split))

    def _version_tags(
        self, finished: Finished, shipped: str, accuracy: float, split: str
    ) -> dict[str, str]:
        assert finished.artifact_dir is not None
        manifest_sha = hashlib.sha256((finished.artifact_dir / "manifest.json").read_bytes())
        tags = {
            f"{TAG}job_id": self.job_id,
            f"{TAG}run_id": self._run_id,
            f"{TAG}shipped_model": shipped,
            f"{TAG}test_accuracy": repr(accuracy),
            f"{TAG}test_split": split,
            f"{TAG}dataset": self.spec.dataset.display_name,
            f"{TAG}teacher": self.spec.teacher or self.spec.teacher_upload_id,
            "sha256.manifest.json": manifest_sha.hexdigest(),
        }
        for file_name, entry in finished.manifest.get("files", {}).items():
            tags[f"sha256.{file_name}"] = entry["sha256"]
        return tags

    def _decide_alias(self, name: str, version: str, accuracy: float, split: str) -> str:
        """Moves the alias to `version` when no version holds it, or when this one is more
        accurate on the same test split; says what it decided and why. One decision at a time
        per registered model in this process (read, compare and move as one step)."""
        with _alias_lock(self.settings.tracking_uri, name):
            return self._decide_alias_now(name, version, accuracy, split)

    def _decide_alias_now(self, name: str, version: str, accuracy: float, split: str) -> str:
        from mlflow.exceptions import MlflowException

        alias = self.settings.alias
        try:
            holder = self._client.get_model_version_by_alias(name, alias)
        except MlflowException as e:
            if e.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise
            holder = None
        if holder is not None:
            theirs = holder.tags.get(f"{TAG}test_accuracy", "nan")
            if holder.tags.get(f"{TAG}test_split") != split:
                return (
                    f"MLflow: {alias!r} stays on version {holder.version}: it was measured on "
                    f"another test split, so {accuracy:.4f} does not compare"
                )
            if not accuracy > float(theirs):
                return (
                    f"MLflow: {alias!r} stays on version {holder.version} (test accuracy "
                    f"{float(theirs):.4f}; version {version}: {accuracy:.4f})"
                )
        self._client.set_registered_model_alias(name, alias, version)
        before = (
            f"from version {holder.version} ({float(theirs):.4f})"
            if holder is not None
            else "(no version held it)"
        )
        return f"MLflow: {alias!r} moves to version {version} ({accuracy:.4f}) {before}"

    @property
    def _run_id(self) -> str:
        assert self.run is not None
        return self.run.run_id

    def _say(self, message: str, level: str = "INFO") -> None:
        try:
            self._emit(LogEvent(message, level))
        except Exception:  # the door's sink is gone (the job ended): the log still has it
            log.info("%s", message, extra={"job_id": self.job_id})

    def _fail(self, operation: str, error: Exception) -> None:
        if self._broken:
            return
        self._broken = True
        message = f"MLflow: {OPERATIONS[operation]} failed ({one_line(error)[:300]}); the job "
        message += "goes on without MLflow tracking"
        log.warning("%s", message, extra={"job_id": self.job_id})
        self._on_error(operation)
        self._say(message, "WARNING")


# One alias decision at a time per registered model in this process: two jobs finishing
# together would both read the same holder, and the later write would win, better or not.
# (Servers sharing one registry can still race: MLflow has no compare-and-set for aliases.)
_ALIAS_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_ALIAS_LOCKS_GUARD = threading.Lock()


def _alias_lock(tracking_uri: str, name: str) -> threading.Lock:
    with _ALIAS_LOCKS_GUARD:
        return _ALIAS_LOCKS.setdefault((tracking_uri, name), threading.Lock())


def close_interrupted_run(
    settings: MlflowSettings,
    run_id: str,
    reason: str,
    on_error: Callable[[str], None] = lambda _operation: None,
) -> threading.Thread:
    """Ends, as FAILED with `reason` in the tag `distillbridge.error`, the MLflow run of a job
    whose server died while it ran (the restarted server finds the job RUNNING, and no tracker
    of this process owns its run). A run that is no longer RUNNING is left as it is. On a
    thread of its own: MLflow takes seconds to import and its server may be away; a failure
    costs a warning and `on_error("finish_run")`, never the server's start."""

    def close() -> None:
        try:
            client = _mlflow_client(settings)
            if client.get_run(run_id).info.status != "RUNNING":
                return
            client.set_tag(run_id, f"{TAG}error", reason)
            client.set_terminated(run_id, status="FAILED")
        except Exception as e:  # unreachable server, a run deleted meanwhile
            on_error("finish_run")
            log.warning("MLflow: cannot end the interrupted run %s: %s", run_id, e)

    thread = threading.Thread(target=close, daemon=True, name=f"mlflow-close-{run_id[:12]}")
    thread.start()
    return thread


def _mlflow_client(settings: MlflowSettings) -> Any:
    """An MlflowClient for the settings' server, with this module's HTTP timeouts and retries
    unless the environment sets them. Seconds to import: call it on a background thread, never
    on a door's."""
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=settings.tracking_uri)


def _bridge_version() -> str:
    from bridge import __version__  # the package's own constant (imported late: no cycle)

    return __version__


# ---------------------------------------------------------------- local runs


def tracked(
    settings: MlflowSettings | None,
    spec: DistillSpec,
    job_id: str,
    on_event: EventSink,
    body: Callable[[EventSink], Any],
) -> tuple[Any, MlflowRun | None]:
    """Runs `body(sink)` (a local pipeline run returning a `RunResult`) with the job tracked in
    MLflow when `settings` is given; returns its result and the run. The tracker's events reach
    `on_event` on this thread (with the pipeline's), so a sink need not be thread-safe."""
    if settings is None:
        return body(on_event), None
    pending: queue.SimpleQueue[Event] = queue.SimpleQueue()
    tracker = JobTracker(settings, spec, job_id, pending.put).start()

    def deliver() -> None:
        while not pending.empty():
            on_event(pending.get())

    def sink(event: Event) -> None:
        deliver()
        on_event(event)
        tracker.observe(event)

    try:
        result = body(sink)
    except BaseException as e:
        tracker.finish(Finished("KILLED" if isinstance(e, KeyboardInterrupt) else "FAILED"))
        tracker.close()
        deliver()
        raise
    tracker.finish(Finished("FINISHED", result.metrics, result.artifact_dir, result.manifest))
    tracker.close()
    deliver()
    return result, tracker.run
