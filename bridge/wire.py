"""The wire's view of a job: `DistillSpec` <-> `distillbridge.v1.DistillSpec` and pipeline
events <-> `JobEvent`. The proto is the contract; these functions are the only place that
knows both sides, so a field added to either must be mapped here (tests/test_conformance.py
walks the proto descriptor and fails on any field that does not survive a round trip).
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.events import (
    Event,
    LogEvent,
    MlflowRun,
    PhaseProgressEvent,
    ProgressEvent,
    StageEvent,
    ValidationEvent,
)
from bridge.schedule import Schedule, Stage
from bridge.spec import (
    SELF_TEACHER,
    CnnConfig,
    Dataset,
    DistillSpec,
    Gates,
    MlpConfig,
    QuantType,
    SelfDistillation,
    SpecError,
    StudentConfig,
    TeacherPreparation,
    TrainingParams,
    TransformerConfig,
)

# ---------------------------------------------------------------- specs


_QUANT_TO_PROTO = {QuantType.NONE: pb.QUANT_TYPE_NONE, QuantType.INT8: pb.QUANT_TYPE_INT8}
_QUANT_FROM_PROTO = {v: k for k, v in _QUANT_TO_PROTO.items()}


def spec_to_proto(spec: DistillSpec) -> pb.DistillSpec:
    prep = spec.teacher_preparation
    msg = pb.DistillSpec(
        teacher=pb.TeacherRef(
            reference=spec.teacher,
            upload_id=spec.teacher_upload_id,
            output=spec.teacher_output,
            preparation=pb.TeacherPreparation(
                fine_tune_encoder=prep.fine_tune_encoder,
                epochs=prep.epochs,
                learning_rate=prep.learning_rate,
            ),
        ),
        quantization=_QUANT_TO_PROTO[spec.quantization],
        name=spec.name,
        registered_model_name=spec.registered_model_name,
    )
    student = spec.student
    if isinstance(student, MlpConfig):
        msg.student.mlp.hidden_sizes.extend(student.hidden_sizes)
    elif isinstance(student, CnnConfig):
        msg.student.cnn.channels.extend(student.channels)
        msg.student.cnn.kernel_size = student.kernel_size
    else:
        msg.student.transformer.CopyFrom(pb.TransformerConfig(**asdict(student)))
    ds = spec.dataset
    if ds.name:
        msg.dataset.builtin = ds.name
    elif ds.path:
        msg.dataset.path = ds.path
    elif ds.upload_id:
        msg.dataset.upload_id = ds.upload_id
    elif ds.local_file:
        raise SpecError("dataset", f"{ds.local_file} has not been uploaded yet")
    msg.dataset.label_column = ds.label_column
    msg.dataset.text_column = ds.text_column or ""
    msg.dataset.split_column = ds.split_column or ""
    if ds.name is None:  # a file's split (built-ins split their own way): a file, or a share
        for part in ("validation", "test"):
            file = getattr(ds, f"{part}_path")
            if file:
                setattr(msg.dataset, f"{part}_path", file)
            else:
                setattr(msg.dataset, f"{part}_fraction", getattr(ds, f"{part}_fraction"))
    t = spec.training
    msg.training.CopyFrom(
        pb.TrainingParams(
            epochs=t.epochs,
            batch_size=t.batch_size,
            learning_rate=t.learning_rate,
            temperature=t.temperature,
            alpha=t.alpha,
            seed=t.seed,
            schedule=t.schedule if isinstance(t.schedule, str) else t.schedule.name,
            workers=t.workers,
            hidden_weight=t.hidden_weight,
            attention_weight=t.attention_weight,
            layer_map=t.layer_map,
            search_trials=t.search_trials,
            augment_copies=t.augment_copies,
        )
    )
    if isinstance(t.schedule, Schedule):  # presets travel by name, custom lists as stages
        stages = [pb.ScheduleStage(**asdict(s)) for s in t.schedule.stages]
        msg.training.schedule_stages.extend(stages)
    if spec.is_self_distillation:
        sd = spec.self_distillation
        msg.self_distillation.CopyFrom(
            pb.SelfDistillation(
                ship_exit=sd.ship_exit, feature_weight=sd.feature_weight, tokenizer=sd.tokenizer
            )
        )
    g = spec.gates
    msg.gates.CopyFrom(
        pb.Gates(
            max_parity_error=g.max_parity_error,
            max_int8_accuracy_drop=g.max_int8_accuracy_drop,
            min_retention=g.min_retention,  # None: no retention gate (unset on the wire)
            fp32_fallback=g.fp32_fallback,
        )
    )
    return msg


def spec_from_proto(msg: pb.DistillSpec) -> DistillSpec:
    """Builds a spec from the wire; unset optional fields take the defaults. Validates."""
    kind = msg.student.WhichOneof("kind")
    student: StudentConfig
    if kind == "mlp":
        student = MlpConfig(tuple(msg.student.mlp.hidden_sizes))
    elif kind == "cnn":
        cnn = msg.student.cnn
        student = CnnConfig(tuple(cnn.channels), cnn.kernel_size or CnnConfig.kernel_size)
    elif kind == "transformer":
        tr = msg.student.transformer
        student = TransformerConfig(
            layers=tr.layers,
            hidden_size=tr.hidden_size,
            heads=tr.heads,
            intermediate_size=tr.intermediate_size,
            max_seq_len=tr.max_seq_len,
            # proto3 `optional` (both): unset is the default (true), not the bool's zero value
            init_from_teacher=tr.init_from_teacher if tr.HasField("init_from_teacher") else True,
            prune_vocabulary=tr.prune_vocabulary if tr.HasField("prune_vocabulary") else True,
        )
    else:
        raise SpecError("student", "set one of student.mlp, student.cnn, student.transformer")
    if msg.quantization not in _QUANT_FROM_PROTO:
        raise SpecError("quantization", f"unknown quantization value {msg.quantization}")
    source = msg.dataset.WhichOneof("source")
    dataset = _optional_fields(
        Dataset,
        msg.dataset,
        name=msg.dataset.builtin if source == "builtin" else None,
        path=msg.dataset.path if source == "path" else None,
        upload_id=msg.dataset.upload_id if source == "upload_id" else None,
        label_column=msg.dataset.label_column or "label",
        text_column=msg.dataset.text_column or None,
        validation_path=msg.dataset.validation_path or None,
        test_path=msg.dataset.test_path or None,
        split_column=msg.dataset.split_column or None,
    )
    if msg.HasField("self_distillation") and msg.teacher.reference != SELF_TEACHER:
        raise SpecError(
            "self_distillation",
            f"applies only when teacher.reference is {SELF_TEACHER!r} (no external teacher); "
            f"the teacher is {msg.teacher.reference or msg.teacher.upload_id!r}",
        )
    spec = DistillSpec(
        teacher=msg.teacher.reference,
        teacher_upload_id=msg.teacher.upload_id,
        teacher_output=msg.teacher.output,
        student=student,
        dataset=dataset,
        training=_optional_fields(
            TrainingParams,
            msg.training,
            schedule=_schedule_from_proto(msg.training),
            layer_map=tuple(msg.training.layer_map),
        ),
        quantization=_QUANT_FROM_PROTO[msg.quantization],
        gates=_optional_fields(Gates, msg.gates, fp32_fallback=msg.gates.fp32_fallback),
        name=msg.name,
        registered_model_name=msg.registered_model_name,
        teacher_preparation=_optional_fields(TeacherPreparation, msg.teacher.preparation),
        self_distillation=_optional_fields(SelfDistillation, msg.self_distillation),
    )
    spec.validate()
    return spec


def _schedule_from_proto(msg: pb.TrainingParams) -> Schedule | str:
    """Stages when the caller sent them (a custom list or an edited preset), else the preset
    name; "" = the default."""
    if not msg.schedule_stages:
        return msg.schedule
    stages = tuple(
        Stage(
            name=s.name,
            fraction=s.fraction,
            temperature_start=s.temperature_start,
            temperature_end=s.temperature_end,
            alpha_start=s.alpha_start,
            alpha_end=s.alpha_end,
            anneal=s.anneal or "linear",
            lr_scale=s.lr_scale or 1.0,
        )
        for s in msg.schedule_stages
    )
    return Schedule(msg.schedule or "custom", stages)


def _optional_fields(cls: type, msg: Any, **plain: Any) -> Any:
    """Dataclass from a message whose scalar fields are proto3 `optional`: only the fields
    the caller set override the dataclass defaults."""
    values = {name: getattr(msg, name) for name in cls.__dataclass_fields__ if _has(msg, name)}
    values.update({k: v for k, v in plain.items() if v})
    return cls(**values)


def _has(msg: Any, name: str) -> bool:
    try:
        return msg.HasField(name)
    except ValueError:  # not an optional field: handled by the caller
        return False


# ---------------------------------------------------------------- events


def event_to_proto(event: Event) -> pb.JobEvent:
    msg = pb.JobEvent()
    kind = next((k for k, t in _EVENT_TYPES.items() if isinstance(event, t)), None)
    if kind is None:  # pragma: no cover - Event is a closed union
        raise TypeError(f"unknown event {event!r}")
    getattr(msg, kind).CopyFrom(getattr(pb, type(event).__name__)(**asdict(event)))
    return msg


def event_from_proto(msg: pb.JobEvent) -> Event | None:
    """The pipeline event a `JobEvent` carries; None for the final (finished) event. Fields are
    copied by name, so every field both sides define crosses (the conformance test checks that
    the dataclasses and the messages define the same ones)."""
    kind = msg.WhichOneof("event")
    event_type = _EVENT_TYPES.get(kind or "")
    if event_type is None:
        return None
    payload = getattr(msg, kind)
    values = {f.name: getattr(payload, f.name) for f in fields(event_type)}
    if event_type is LogEvent:
        values["level"] = values["level"] or "INFO"
    if event_type is PhaseProgressEvent:
        values["figures"] = dict(values["figures"])
    return event_type(**values)


_EVENT_TYPES: dict[str, type] = {
    "stage": StageEvent,
    "progress": ProgressEvent,
    "validation": ValidationEvent,
    "log": LogEvent,
    "phase_progress": PhaseProgressEvent,
    "mlflow_run": MlflowRun,
}
