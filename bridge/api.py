"""The fluent Python API: `Distiller()` runs in this process, `Distiller.remote(target)` on a
server; both have the same methods and return the same `DistillationResult`.

    result = (Distiller()
              .set_teacher("german-credit-mlp")
              .set_student_config(MlpConfig(hidden_sizes=(16,)))
              .enable_quantization(QuantType.INT8)
              .distill(Dataset.builtin("german-credit"), TrainingParams(epochs=60)))
    result.download("out/")
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.cache_budget import CacheBudget
from bridge.errors import DistillError, JobCancelled
from bridge.events import Event, EventSink, MlflowRun, ignore_events
from bridge.export.manifest import read_manifest, verify_files
from bridge.paths import default_home
from bridge.remote import RemoteClient
from bridge.report import report_directory
from bridge.spec import (
    SELF_TEACHER,
    Dataset,
    DistillSpec,
    Gates,
    QuantType,
    SelfDistillation,
    SpecError,
    StudentConfig,
    TeacherPreparation,
    TrainingParams,
)
from bridge.tracking import MlflowSettings, refuse_untracked_registry, tracked


@dataclass
class DistillationResult:
    """A finished job: its metrics, its manifest, and `download(dir)` for the artifact."""

    job_id: str
    metrics: dict[str, float]
    manifest: dict
    # The job's MLflow run and registered version (local: Distiller(mlflow_tracking_uri=...);
    # remote: a server with --mlflow-tracking-uri); None when not tracked or it failed.
    mlflow_run: MlflowRun | None = None
    _local_dir: Path | None = field(default=None, repr=False)
    _client: RemoteClient | None = field(default=None, repr=False)
    _files: list[pb.ArtifactFile] = field(default_factory=list, repr=False)
    _downloaded: Path | None = field(default=None, repr=False)

    def download(self, directory: str | Path) -> Path:
        """Puts the verified artifact (models, manifest.json, report/) in `directory` and returns
        it; `report_directory` then points at its report."""
        target = Path(directory)
        if self._client is not None:
            self._client.download(self.job_id, self._files, target)
        else:
            assert self._local_dir is not None
            shutil.copytree(self._local_dir, target, dirs_exist_ok=True)
            problems = verify_files(target, read_manifest(target))
            if problems:
                raise DistillError(f"artifact copy is damaged: {'; '.join(problems)}", "DATA_LOSS")
        self._downloaded = target
        return target

    @property
    def report_directory(self) -> Path | None:
        """The job's report (`report.md`, `loss_curves.png`): in the last `download()`'s
        directory, or for a local run where the run left it; None when there is none yet (a
        remote job not downloaded) or the artifact has no report."""
        artifact = self._downloaded or self._local_dir
        return report_directory(artifact) if artifact is not None else None


@dataclass(frozen=True)
class Teacher:
    """A teacher for `set_teacher`, when a plain string (zoo name or server path) is not enough:
    `Teacher.upload(path)` sends a local file (.pt, .ts, .onnx) or Hugging Face directory to the
    server before the job; `Teacher.uploaded(upload_id)` names one already there.

    `output` (ONNX files only) names the graph output that scores the classes, e.g.
    `Teacher("model.onnx", output="probabilities")`, instead of the bridge's choice by type and
    shape; a ZipMap or a name containing "prob" is read as probabilities, any other float
    [N, classes] output as logits."""

    reference: str = ""
    upload_id: str = ""
    local_path: str = ""
    output: str = ""

    @classmethod
    def upload(cls, path: str | os.PathLike[str], output: str = "") -> Teacher:
        return cls(local_path=str(path), output=output)

    @classmethod
    def uploaded(cls, upload_id: str, output: str = "") -> Teacher:
        return cls(upload_id=upload_id, output=output)


class Distiller:
    """Describe a distillation fluently, then `distill(dataset, params)`. Validation happens in
    `distill()`: a bad field raises `SpecError` naming it, local or remote alike.

    `teacher_cache_budget` (local runs; a server has `serve --teacher-cache-budget`): what the
    job's teacher-output cache may take, a `CacheBudget` or its text (`"2GB"`,
    `"disk=2GB,resident=512MB,features=recompute"`); a bad one raises `ValueError` naming it."""

    def __init__(
        self,
        *,
        home: str | Path | None = None,
        mlflow_tracking_uri: str | None = None,
        mlflow_alias: str = "",
        teacher_cache_budget: CacheBudget | str | None = None,
    ) -> None:
        """`mlflow_tracking_uri` (local runs): record each run in MLflow and register an
        artifact that passes its gates; `mlflow_alias` (e.g. "champion") moves to a new version
        that beats its holder on the same test split. Credentials: MLflow's environment
        variables (MLFLOW_TRACKING_USERNAME / _PASSWORD / _TOKEN)."""
        self._home = Path(home) if home else default_home()
        self._budget = _budget(teacher_cache_budget)
        self._mlflow: MlflowSettings | None = None
        if mlflow_tracking_uri is not None:
            self._mlflow = MlflowSettings(mlflow_tracking_uri, mlflow_alias)
            self._mlflow.check("mlflow_tracking_uri", "mlflow_alias")
        elif mlflow_alias:
            raise SpecError("mlflow_alias", "needs mlflow_tracking_uri")
        self._client: RemoteClient | None = None
        self._teacher = Teacher()
        self._student: StudentConfig | None = None
        self._quantization = QuantType.NONE
        self._gates = Gates()
        self._preparation = TeacherPreparation()
        self._self_distillation: SelfDistillation | None = None
        self._name = ""
        self._registered_model_name = ""
        self._on_event: EventSink = ignore_events

    @classmethod
    def remote(
        cls,
        target: str,
        *,
        timeout: float | None = None,
        plaintext: bool = False,
        trust_certificate: str | Path | None = None,
        client_certificate: str | Path | None = None,
        client_key: str | Path | None = None,
        bearer_token: str | None = None,
        allow_insecure_token: bool = False,
        **renamed: Any,
    ) -> Distiller:
        """A Distiller whose jobs run on the server at `target` (e.g. "models.internal:50051"),
        over TLS with gRPC's default roots unless `plaintext=True` (a server without
        --tls-cert, e.g. on localhost). Named like the Java `DistillBridge.builder(target)`:

        `trust_certificate`: a PEM CA (or self-signed certificate) to trust;
        `client_certificate` + `client_key`: PEM files, for a server with --tls-client-ca;
        `bearer_token`: the server's --auth-token-file token, sent only over TLS unless
        `allow_insecure_token=True` (loopback only).

        A bad combination or unreadable file raises `ValueError` naming the option, before
        anything connects; TLS against a plaintext server (or the reverse) fails with a
        `DistillError` naming `plaintext=True`. The old names (`token`, `tls_root_cert`,
        `tls_client_cert`, `tls_client_key`) still work, with a `DeprecationWarning`."""
        distiller = cls()
        distiller._client = RemoteClient(
            target,
            timeout=timeout,
            plaintext=plaintext,
            trust_certificate=trust_certificate,
            client_certificate=client_certificate,
            client_key=client_key,
            bearer_token=bearer_token,
            allow_insecure_token=allow_insecure_token,
            **renamed,
        )
        return distiller

    # ------------------------------------------------------------ fluent setters

    def set_teacher(self, reference: str | Teacher) -> Distiller:
        """A zoo name (`german-credit-mlp`, ...), a path to a TorchScript or ONNX file (on the
        server, for a remote run), or a `Teacher` (`Teacher.upload(local_path)`, or
        `Teacher(path, output="probabilities")` to name an ONNX teacher's class output)."""
        self._teacher = reference if isinstance(reference, Teacher) else Teacher(reference)
        return self

    def set_teacher_preparation(self, preparation: TeacherPreparation) -> Distiller:
        """How a text encoder without a task head is prepared (fine-tuned) before distilling."""
        self._preparation = preparation
        return self

    def set_self_distillation(self, config: SelfDistillation | None = None) -> Distiller:
        """No external teacher (the teacher becomes "self"): the student's deepest exit teaches
        exits after its shallower layers; `SelfDistillation(ship_exit=k)` ships a truncated
        model of the first k layers."""
        self._self_distillation = config or SelfDistillation()
        self._teacher = Teacher(SELF_TEACHER)
        return self

    def set_student_config(self, config: StudentConfig) -> Distiller:
        self._student = config
        return self

    def enable_quantization(self, quant: QuantType = QuantType.INT8) -> Distiller:
        self._quantization = quant
        return self

    def set_gates(self, gates: Gates) -> Distiller:
        self._gates = gates
        return self

    def set_name(self, name: str) -> Distiller:
        self._name = name
        return self

    def set_registered_model_name(self, name: str) -> Distiller:
        """The MLflow registered model the artifact becomes a version of (default: the name
        given to `set_name`). A job that sets it where it is not tracked in MLflow (no
        `mlflow_tracking_uri` here, a server without --mlflow-tracking-uri) is refused with a
        `SpecError` naming `registered_model_name`; `validate` checks only its form."""
        self._registered_model_name = name
        return self

    def on_event(self, sink: EventSink) -> Distiller:
        """Called with every StageEvent, ProgressEvent, ValidationEvent, LogEvent and
        PhaseProgressEvent (a long phase's progress, about once a second)."""
        self._on_event = sink
        return self

    # ------------------------------------------------------------ running

    def build_spec(self, dataset: Dataset, params: TrainingParams | None = None) -> DistillSpec:
        """The `DistillSpec` this description stands for, field-validated (no references
        checked: see `validate`)."""
        if self._student is None:
            raise SpecError("student", "set_student_config(...) was not called")
        if self._self_distillation is not None and self._teacher.reference != SELF_TEACHER:
            raise SpecError(
                "self_distillation",
                "set_self_distillation(...) makes the student its own teacher; "
                "set_teacher(...) was called after it",
            )
        spec = DistillSpec(
            teacher=self._teacher.reference or self._teacher.local_path,
            teacher_upload_id=self._teacher.upload_id,
            teacher_output=self._teacher.output,
            student=self._student,
            dataset=dataset,
            training=params or TrainingParams(),
            quantization=self._quantization,
            gates=self._gates,
            name=self._name,
            registered_model_name=self._registered_model_name,
            teacher_preparation=self._preparation,
            self_distillation=self._self_distillation or SelfDistillation(),
        )
        spec.validate()
        return spec

    def validate(self, dataset: Dataset, params: TrainingParams | None = None) -> DistillSpec:
        """Runs every check `distill` runs (fields, teacher and dataset references, modality,
        a small dataset file's content) without training, and returns the normalized spec:
        exactly what the pipeline would receive. Remote: the server checks it (local files are
        uploaded first, as `distill` does). A bad field raises `SpecError` naming it."""
        spec = self.build_spec(dataset, params)
        if self._client is not None:
            spec = self._client.upload_local_files(spec, self._local_teacher)
        return self.check_spec(spec)

    def check_spec(self, spec: DistillSpec) -> DistillSpec:
        """`validate` for a complete `DistillSpec` (what `distill --dry-run` does): every check,
        here or on this Distiller's server, and the normalized spec back."""
        if self._client is not None:
            return self._client.validate(spec)
        return _check_local(spec)

    def distill(self, dataset: Dataset, params: TrainingParams | None = None) -> DistillationResult:
        spec = self.build_spec(dataset, params)
        if self._client is not None:
            spec = self._client.upload_local_files(spec, self._local_teacher)
        return self.run_spec(spec)

    def run_spec(self, spec: DistillSpec) -> DistillationResult:
        """Runs a complete `DistillSpec` as it is (what the CLI and the Py4J gateway do with
        the spec they parsed), locally or on this Distiller's server, reporting to the
        `on_event` sink. The fluent setters only describe a spec for `distill`/`validate`."""
        if self._client is not None:
            return self._distill_remote(spec)
        refuse_untracked_registry(spec, self._mlflow, "give Distiller(mlflow_tracking_uri=...)")
        return run_local(_check_local(spec), self._home, self._on_event, self._mlflow, self._budget)

    @property
    def _local_teacher(self) -> str | None:
        return self._teacher.local_path or None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> Distiller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _distill_remote(self, spec: DistillSpec) -> DistillationResult:
        assert self._client is not None
        job = self._client.submit(spec)
        runs: list[MlflowRun] = []

        def on_event(event: Event) -> None:
            if isinstance(event, MlflowRun):
                runs.append(event)
            self._on_event(event)

        finished = self._client.watch(job.job_id, on_event)
        if finished.state == pb.JOB_STATE_CANCELLED:
            raise JobCancelled(f"job {job.job_id} was cancelled: {finished.error}")
        if finished.state != pb.JOB_STATE_SUCCEEDED:
            raise DistillError(f"job {job.job_id} failed: {finished.error}", "ABORTED")
        r = finished.result
        manifest = json.loads(r.manifest_json)
        return DistillationResult(
            job.job_id,
            dict(r.metrics),
            manifest,
            runs[-1] if runs else None,
            _client=self._client,
            _files=list(r.files),
        )


def run_local(
    spec: DistillSpec,
    home: Path,
    on_event: EventSink = ignore_events,
    mlflow: MlflowSettings | None = None,
    teacher_cache_budget: CacheBudget | None = None,
) -> DistillationResult:
    """Runs, in this process, a spec its door has already `check`ed (the API's own doors check
    first: `Distiller.run_spec`); the artifact lands under `home`/runs. With `mlflow`, the run
    is recorded there (bridge/tracking.py)."""
    from bridge.pipeline import RunContext, run  # torch loads only when needed

    job_id = "local-" + uuid.uuid4().hex[:12]
    out = home / "runs" / job_id
    budget = teacher_cache_budget or CacheBudget()
    ctx = RunContext(home=home, job_id=job_id, teacher_cache_budget=budget)
    result, mlflow_run = tracked(mlflow, spec, job_id, on_event, lambda s: run(spec, out, ctx, s))
    return DistillationResult(job_id, result.metrics, result.manifest, mlflow_run, _local_dir=out)


def _budget(value: CacheBudget | str | None) -> CacheBudget:
    if value is None or isinstance(value, CacheBudget):
        return value or CacheBudget()
    try:
        return CacheBudget.parse(value)
    except ValueError as e:
        raise ValueError(f"teacher_cache_budget: {e}") from None


def _check_local(spec: DistillSpec) -> DistillSpec:
    """The door contract's check for a run in this process; a `Dataset.upload(path)` file is
    read where it is."""
    from bridge.check import check  # resolving teachers imports torch: only when needed

    if spec.dataset.local_file:
        dataset = replace(spec.dataset, path=spec.dataset.local_file, local_file=None)
        spec = replace(spec, dataset=dataset)
    return check(spec, None)


__all__ = ["DistillationResult", "Distiller", "Teacher"]
