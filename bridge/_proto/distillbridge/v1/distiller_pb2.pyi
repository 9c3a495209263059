import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QuantType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUANT_TYPE_NONE: _ClassVar[QuantType]
    QUANT_TYPE_INT8: _ClassVar[QuantType]

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class UploadKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UPLOAD_KIND_UNSPECIFIED: _ClassVar[UploadKind]
    UPLOAD_KIND_MODEL: _ClassVar[UploadKind]
    UPLOAD_KIND_DATASET: _ClassVar[UploadKind]
QUANT_TYPE_NONE: QuantType
QUANT_TYPE_INT8: QuantType
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
UPLOAD_KIND_UNSPECIFIED: UploadKind
UPLOAD_KIND_MODEL: UploadKind
UPLOAD_KIND_DATASET: UploadKind

class DistillSpec(_message.Message):
    __slots__ = ("teacher", "student", "quantization", "dataset", "training", "gates", "name", "self_distillation", "registered_model_name")
    TEACHER_FIELD_NUMBER: _ClassVar[int]
    STUDENT_FIELD_NUMBER: _ClassVar[int]
    QUANTIZATION_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    GATES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SELF_DISTILLATION_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    teacher: TeacherRef
    student: StudentConfig
    quantization: QuantType
    dataset: DatasetRef
    training: TrainingParams
    gates: Gates
    name: str
    self_distillation: SelfDistillation
    registered_model_name: str
    def __init__(self, teacher: _Optional[_Union[TeacherRef, _Mapping]] = ..., student: _Optional[_Union[StudentConfig, _Mapping]] = ..., quantization: _Optional[_Union[QuantType, str]] = ..., dataset: _Optional[_Union[DatasetRef, _Mapping]] = ..., training: _Optional[_Union[TrainingParams, _Mapping]] = ..., gates: _Optional[_Union[Gates, _Mapping]] = ..., name: _Optional[str] = ..., self_distillation: _Optional[_Union[SelfDistillation, _Mapping]] = ..., registered_model_name: _Optional[str] = ...) -> None: ...

class SelfDistillation(_message.Message):
    __slots__ = ("ship_exit", "feature_weight", "tokenizer")
    SHIP_EXIT_FIELD_NUMBER: _ClassVar[int]
    FEATURE_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_FIELD_NUMBER: _ClassVar[int]
    ship_exit: int
    feature_weight: float
    tokenizer: str
    def __init__(self, ship_exit: _Optional[int] = ..., feature_weight: _Optional[float] = ..., tokenizer: _Optional[str] = ...) -> None: ...

class TeacherRef(_message.Message):
    __slots__ = ("reference", "upload_id", "preparation", "output")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    PREPARATION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    reference: str
    upload_id: str
    preparation: TeacherPreparation
    output: str
    def __init__(self, reference: _Optional[str] = ..., upload_id: _Optional[str] = ..., preparation: _Optional[_Union[TeacherPreparation, _Mapping]] = ..., output: _Optional[str] = ...) -> None: ...

class TeacherPreparation(_message.Message):
    __slots__ = ("fine_tune_encoder", "epochs", "learning_rate")
    FINE_TUNE_ENCODER_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    fine_tune_encoder: bool
    epochs: int
    learning_rate: float
    def __init__(self, fine_tune_encoder: _Optional[bool] = ..., epochs: _Optional[int] = ..., learning_rate: _Optional[float] = ...) -> None: ...

class DatasetRef(_message.Message):
    __slots__ = ("builtin", "path", "upload_id", "label_column", "text_column", "validation_path", "test_path", "validation_fraction", "test_fraction", "split_column")
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_COLUMN_FIELD_NUMBER: _ClassVar[int]
    TEXT_COLUMN_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_PATH_FIELD_NUMBER: _ClassVar[int]
    TEST_PATH_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    TEST_FRACTION_FIELD_NUMBER: _ClassVar[int]
    SPLIT_COLUMN_FIELD_NUMBER: _ClassVar[int]
    builtin: str
    path: str
    upload_id: str
    label_column: str
    text_column: str
    validation_path: str
    test_path: str
    validation_fraction: float
    test_fraction: float
    split_column: str
    def __init__(self, builtin: _Optional[str] = ..., path: _Optional[str] = ..., upload_id: _Optional[str] = ..., label_column: _Optional[str] = ..., text_column: _Optional[str] = ..., validation_path: _Optional[str] = ..., test_path: _Optional[str] = ..., validation_fraction: _Optional[float] = ..., test_fraction: _Optional[float] = ..., split_column: _Optional[str] = ...) -> None: ...

class StudentConfig(_message.Message):
    __slots__ = ("mlp", "cnn", "transformer")
    MLP_FIELD_NUMBER: _ClassVar[int]
    CNN_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMER_FIELD_NUMBER: _ClassVar[int]
    mlp: MlpConfig
    cnn: CnnConfig
    transformer: TransformerConfig
    def __init__(self, mlp: _Optional[_Union[MlpConfig, _Mapping]] = ..., cnn: _Optional[_Union[CnnConfig, _Mapping]] = ..., transformer: _Optional[_Union[TransformerConfig, _Mapping]] = ...) -> None: ...

class MlpConfig(_message.Message):
    __slots__ = ("hidden_sizes",)
    HIDDEN_SIZES_FIELD_NUMBER: _ClassVar[int]
    hidden_sizes: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, hidden_sizes: _Optional[_Iterable[int]] = ...) -> None: ...

class CnnConfig(_message.Message):
    __slots__ = ("channels", "kernel_size")
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    KERNEL_SIZE_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedScalarFieldContainer[int]
    kernel_size: int
    def __init__(self, channels: _Optional[_Iterable[int]] = ..., kernel_size: _Optional[int] = ...) -> None: ...

class TransformerConfig(_message.Message):
    __slots__ = ("layers", "hidden_size", "heads", "intermediate_size", "max_seq_len", "init_from_teacher", "prune_vocabulary")
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_SIZE_FIELD_NUMBER: _ClassVar[int]
    HEADS_FIELD_NUMBER: _ClassVar[int]
    INTERMEDIATE_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LEN_FIELD_NUMBER: _ClassVar[int]
    INIT_FROM_TEACHER_FIELD_NUMBER: _ClassVar[int]
    PRUNE_VOCABULARY_FIELD_NUMBER: _ClassVar[int]
    layers: int
    hidden_size: int
    heads: int
    intermediate_size: int
    max_seq_len: int
    init_from_teacher: bool
    prune_vocabulary: bool
    def __init__(self, layers: _Optional[int] = ..., hidden_size: _Optional[int] = ..., heads: _Optional[int] = ..., intermediate_size: _Optional[int] = ..., max_seq_len: _Optional[int] = ..., init_from_teacher: _Optional[bool] = ..., prune_vocabulary: _Optional[bool] = ...) -> None: ...

class TrainingParams(_message.Message):
    __slots__ = ("epochs", "batch_size", "learning_rate", "temperature", "alpha", "seed", "schedule", "workers", "hidden_weight", "attention_weight", "layer_map", "schedule_stages", "search_trials", "augment_copies")
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    ATTENTION_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    LAYER_MAP_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_STAGES_FIELD_NUMBER: _ClassVar[int]
    SEARCH_TRIALS_FIELD_NUMBER: _ClassVar[int]
    AUGMENT_COPIES_FIELD_NUMBER: _ClassVar[int]
    epochs: int
    batch_size: int
    learning_rate: float
    temperature: float
    alpha: float
    seed: int
    schedule: str
    workers: int
    hidden_weight: float
    attention_weight: float
    layer_map: _containers.RepeatedScalarFieldContainer[int]
    schedule_stages: _containers.RepeatedCompositeFieldContainer[ScheduleStage]
    search_trials: int
    augment_copies: int
    def __init__(self, epochs: _Optional[int] = ..., batch_size: _Optional[int] = ..., learning_rate: _Optional[float] = ..., temperature: _Optional[float] = ..., alpha: _Optional[float] = ..., seed: _Optional[int] = ..., schedule: _Optional[str] = ..., workers: _Optional[int] = ..., hidden_weight: _Optional[float] = ..., attention_weight: _Optional[float] = ..., layer_map: _Optional[_Iterable[int]] = ..., schedule_stages: _Optional[_Iterable[_Union[ScheduleStage, _Mapping]]] = ..., search_trials: _Optional[int] = ..., augment_copies: _Optional[int] = ...) -> None: ...

class ScheduleStage(_message.Message):
    __slots__ = ("name", "fraction", "temperature_start", "temperature_end", "alpha_start", "alpha_end", "anneal", "lr_scale")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_START_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_END_FIELD_NUMBER: _ClassVar[int]
    ALPHA_START_FIELD_NUMBER: _ClassVar[int]
    ALPHA_END_FIELD_NUMBER: _ClassVar[int]
    ANNEAL_FIELD_NUMBER: _ClassVar[int]
    LR_SCALE_FIELD_NUMBER: _ClassVar[int]
    name: str
    fraction: float
    temperature_start: float
    temperature_end: float
    alpha_start: float
    alpha_end: float
    anneal: str
    lr_scale: float
    def __init__(self, name: _Optional[str] = ..., fraction: _Optional[float] = ..., temperature_start: _Optional[float] = ..., temperature_end: _Optional[float] = ..., alpha_start: _Optional[float] = ..., alpha_end: _Optional[float] = ..., anneal: _Optional[str] = ..., lr_scale: _Optional[float] = ...) -> None: ...

class Gates(_message.Message):
    __slots__ = ("max_parity_error", "max_int8_accuracy_drop", "min_retention", "fp32_fallback")
    MAX_PARITY_ERROR_FIELD_NUMBER: _ClassVar[int]
    MAX_INT8_ACCURACY_DROP_FIELD_NUMBER: _ClassVar[int]
    MIN_RETENTION_FIELD_NUMBER: _ClassVar[int]
    FP32_FALLBACK_FIELD_NUMBER: _ClassVar[int]
    max_parity_error: float
    max_int8_accuracy_drop: float
    min_retention: float
    fp32_fallback: bool
    def __init__(self, max_parity_error: _Optional[float] = ..., max_int8_accuracy_drop: _Optional[float] = ..., min_retention: _Optional[float] = ..., fp32_fallback: _Optional[bool] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("job_id", "state", "spec", "stage", "error", "created_at", "started_at", "finished_at", "result", "mlflow_run")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    MLFLOW_RUN_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    spec: DistillSpec
    stage: str
    error: str
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    result: DistillResult
    mlflow_run: MlflowRun
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., spec: _Optional[_Union[DistillSpec, _Mapping]] = ..., stage: _Optional[str] = ..., error: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., result: _Optional[_Union[DistillResult, _Mapping]] = ..., mlflow_run: _Optional[_Union[MlflowRun, _Mapping]] = ...) -> None: ...

class DistillResult(_message.Message):
    __slots__ = ("metrics", "manifest_json", "files")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    METRICS_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_JSON_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    metrics: _containers.ScalarMap[str, float]
    manifest_json: str
    files: _containers.RepeatedCompositeFieldContainer[ArtifactFile]
    def __init__(self, metrics: _Optional[_Mapping[str, float]] = ..., manifest_json: _Optional[str] = ..., files: _Optional[_Iterable[_Union[ArtifactFile, _Mapping]]] = ...) -> None: ...

class ArtifactFile(_message.Message):
    __slots__ = ("name", "size_bytes", "sha256")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    name: str
    size_bytes: int
    sha256: str
    def __init__(self, name: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class SubmitJobRequest(_message.Message):
    __slots__ = ("spec", "validate_only")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    spec: DistillSpec
    validate_only: bool
    def __init__(self, spec: _Optional[_Union[DistillSpec, _Mapping]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: JobState
    def __init__(self, state: _Optional[_Union[JobState, str]] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class DeleteJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class DeleteJobResponse(_message.Message):
    __slots__ = ("job_id", "freed_bytes")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FREED_BYTES_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    freed_bytes: int
    def __init__(self, job_id: _Optional[str] = ..., freed_bytes: _Optional[int] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id", "from_sequence")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    from_sequence: int
    def __init__(self, job_id: _Optional[str] = ..., from_sequence: _Optional[int] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "sequence", "time", "stage", "progress", "validation", "log", "finished", "phase_progress", "mlflow_run")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    PHASE_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    MLFLOW_RUN_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    sequence: int
    time: _timestamp_pb2.Timestamp
    stage: StageEvent
    progress: ProgressEvent
    validation: ValidationEvent
    log: LogEvent
    finished: FinishedEvent
    phase_progress: PhaseProgressEvent
    mlflow_run: MlflowRun
    def __init__(self, job_id: _Optional[str] = ..., sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stage: _Optional[_Union[StageEvent, _Mapping]] = ..., progress: _Optional[_Union[ProgressEvent, _Mapping]] = ..., validation: _Optional[_Union[ValidationEvent, _Mapping]] = ..., log: _Optional[_Union[LogEvent, _Mapping]] = ..., finished: _Optional[_Union[FinishedEvent, _Mapping]] = ..., phase_progress: _Optional[_Union[PhaseProgressEvent, _Mapping]] = ..., mlflow_run: _Optional[_Union[MlflowRun, _Mapping]] = ...) -> None: ...

class StageEvent(_message.Message):
    __slots__ = ("stage", "message")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    stage: str
    message: str
    def __init__(self, stage: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ProgressEvent(_message.Message):
    __slots__ = ("epoch", "epochs", "step", "steps_per_epoch", "loss", "soft_loss", "hard_loss", "learning_rate", "temperature", "alpha", "hidden_loss", "attention_loss")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    STEPS_PER_EPOCH_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    SOFT_LOSS_FIELD_NUMBER: _ClassVar[int]
    HARD_LOSS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_LOSS_FIELD_NUMBER: _ClassVar[int]
    ATTENTION_LOSS_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float
    soft_loss: float
    hard_loss: float
    learning_rate: float
    temperature: float
    alpha: float
    hidden_loss: float
    attention_loss: float
    def __init__(self, epoch: _Optional[int] = ..., epochs: _Optional[int] = ..., step: _Optional[int] = ..., steps_per_epoch: _Optional[int] = ..., loss: _Optional[float] = ..., soft_loss: _Optional[float] = ..., hard_loss: _Optional[float] = ..., learning_rate: _Optional[float] = ..., temperature: _Optional[float] = ..., alpha: _Optional[float] = ..., hidden_loss: _Optional[float] = ..., attention_loss: _Optional[float] = ...) -> None: ...

class PhaseProgressEvent(_message.Message):
    __slots__ = ("phase", "done", "total", "unit", "elapsed_seconds", "eta_seconds", "message", "figures")
    class FiguresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    PHASE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    phase: str
    done: int
    total: int
    unit: str
    elapsed_seconds: float
    eta_seconds: float
    message: str
    figures: _containers.ScalarMap[str, float]
    def __init__(self, phase: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., unit: _Optional[str] = ..., elapsed_seconds: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., message: _Optional[str] = ..., figures: _Optional[_Mapping[str, float]] = ...) -> None: ...

class ValidationEvent(_message.Message):
    __slots__ = ("epoch", "accuracy", "loss", "best")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    BEST_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    accuracy: float
    loss: float
    best: bool
    def __init__(self, epoch: _Optional[int] = ..., accuracy: _Optional[float] = ..., loss: _Optional[float] = ..., best: _Optional[bool] = ...) -> None: ...

class LogEvent(_message.Message):
    __slots__ = ("level", "message")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    level: str
    message: str
    def __init__(self, level: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class MlflowRun(_message.Message):
    __slots__ = ("run_id", "run_url", "experiment_id", "registered_model_name", "model_version")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_URL_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    run_url: str
    experiment_id: str
    registered_model_name: str
    model_version: str
    def __init__(self, run_id: _Optional[str] = ..., run_url: _Optional[str] = ..., experiment_id: _Optional[str] = ..., registered_model_name: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class FinishedEvent(_message.Message):
    __slots__ = ("state", "error", "result")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    state: JobState
    error: str
    result: DistillResult
    def __init__(self, state: _Optional[_Union[JobState, str]] = ..., error: _Optional[str] = ..., result: _Optional[_Union[DistillResult, _Mapping]] = ...) -> None: ...

class DownloadArtifactRequest(_message.Message):
    __slots__ = ("job_id", "file_name", "offset")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    file_name: str
    offset: int
    def __init__(self, job_id: _Optional[str] = ..., file_name: _Optional[str] = ..., offset: _Optional[int] = ...) -> None: ...

class ArtifactChunk(_message.Message):
    __slots__ = ("file_name", "offset", "data", "total_size", "sha256")
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    offset: int
    data: bytes
    total_size: int
    sha256: str
    def __init__(self, file_name: _Optional[str] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ..., total_size: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class ListTeachersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TeacherInfo(_message.Message):
    __slots__ = ("name", "description", "architecture", "dataset", "parameters", "cached")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    architecture: str
    dataset: str
    parameters: int
    cached: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., architecture: _Optional[str] = ..., dataset: _Optional[str] = ..., parameters: _Optional[int] = ..., cached: _Optional[bool] = ...) -> None: ...

class ListTeachersResponse(_message.Message):
    __slots__ = ("teachers",)
    TEACHERS_FIELD_NUMBER: _ClassVar[int]
    teachers: _containers.RepeatedCompositeFieldContainer[TeacherInfo]
    def __init__(self, teachers: _Optional[_Iterable[_Union[TeacherInfo, _Mapping]]] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DatasetInfo(_message.Message):
    __slots__ = ("name", "description", "modality", "rows", "input_shape", "labels", "available")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MODALITY_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHAPE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    modality: str
    rows: int
    input_shape: _containers.RepeatedScalarFieldContainer[int]
    labels: _containers.RepeatedScalarFieldContainer[str]
    available: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., modality: _Optional[str] = ..., rows: _Optional[int] = ..., input_shape: _Optional[_Iterable[int]] = ..., labels: _Optional[_Iterable[str]] = ..., available: _Optional[bool] = ...) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ("datasets",)
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[DatasetInfo]
    def __init__(self, datasets: _Optional[_Iterable[_Union[DatasetInfo, _Mapping]]] = ...) -> None: ...

class UploadMetadata(_message.Message):
    __slots__ = ("file_name", "total_size", "sha256", "kind")
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    total_size: int
    sha256: str
    kind: UploadKind
    def __init__(self, file_name: _Optional[str] = ..., total_size: _Optional[int] = ..., sha256: _Optional[str] = ..., kind: _Optional[_Union[UploadKind, str]] = ...) -> None: ...

class UploadChunk(_message.Message):
    __slots__ = ("metadata", "data")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    metadata: UploadMetadata
    data: bytes
    def __init__(self, metadata: _Optional[_Union[UploadMetadata, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class UploadResult(_message.Message):
    __slots__ = ("upload_id", "file_name", "size_bytes", "sha256", "kind", "extracted", "created_at", "last_used_at", "active_job_ids")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EXTRACTED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    file_name: str
    size_bytes: int
    sha256: str
    kind: UploadKind
    extracted: bool
    created_at: _timestamp_pb2.Timestamp
    last_used_at: _timestamp_pb2.Timestamp
    active_job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, upload_id: _Optional[str] = ..., file_name: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., kind: _Optional[_Union[UploadKind, str]] = ..., extracted: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_used_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active_job_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListUploadsRequest(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: UploadKind
    def __init__(self, kind: _Optional[_Union[UploadKind, str]] = ...) -> None: ...

class ListUploadsResponse(_message.Message):
    __slots__ = ("uploads",)
    UPLOADS_FIELD_NUMBER: _ClassVar[int]
    uploads: _containers.RepeatedCompositeFieldContainer[UploadResult]
    def __init__(self, uploads: _Optional[_Iterable[_Union[UploadResult, _Mapping]]] = ...) -> None: ...

class DeleteUploadRequest(_message.Message):
    __slots__ = ("upload_id",)
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    def __init__(self, upload_id: _Optional[str] = ...) -> None: ...

class DeleteUploadResponse(_message.Message):
    __slots__ = ("upload_id", "freed_bytes")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    FREED_BYTES_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    freed_bytes: int
    def __init__(self, upload_id: _Optional[str] = ..., freed_bytes: _Optional[int] = ...) -> None: ...
