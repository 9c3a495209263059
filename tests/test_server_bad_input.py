"""A corpus of bad requests against the real server on loopback: every one is answered with the
right status code and a message, and the server answers a health check after each. Then
property-based fuzzing of SubmitJob: whatever the fields, never INTERNAL or UNKNOWN."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.spec import CnnConfig, Dataset, Gates, MlpConfig, TrainingParams
from bridge.wire import spec_to_proto
from tests.conftest import digits_spec
from tests.serverkit import upload_chunks

G = grpc.StatusCode
SUBMIT = "/distillbridge.v1.DistillerService/SubmitJob"


@dataclass
class Ctx:
    stub: object
    channel: grpc.Channel
    root: Path
    done_job: str  # a job that succeeded
    cancelled_job: str


@pytest.fixture(scope="module")
def ctx(server, stub) -> Ctx:
    root = server.jobs.paths.data_root
    _write_bad_datasets(root)
    done = stub.SubmitJob(pb.SubmitJobRequest(spec=spec_to_proto(digits_spec(training=_ONE))))
    final = list(stub.WatchJob(pb.WatchJobRequest(job_id=done.job_id), timeout=300))[-1]
    assert final.finished.state == pb.JOB_STATE_SUCCEEDED, final.finished.error
    # Queued behind nothing it would start; cancel at once (before or while it starts).
    slow = stub.SubmitJob(
        pb.SubmitJobRequest(spec=spec_to_proto(digits_spec(training=TrainingParams(epochs=500))))
    )
    stub.CancelJob(pb.CancelJobRequest(job_id=slow.job_id))
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield Ctx(stub, channel, root, done.job_id, slow.job_id)
    channel.close()


_ONE = TrainingParams(epochs=1, batch_size=64, learning_rate=5e-3, seed=3)


def _write_bad_datasets(root: Path) -> None:
    header = ",".join(f"f{i}" for i in range(4)) + ",label\n"
    good_rows = "".join(f"{i % 7},{i % 5},{i % 3},{i % 2},{'ab'[i % 2]}\n" for i in range(40))
    (root / "nan.csv").write_text(header + "1,2,nan,4,a\n" + good_rows)
    (root / "inf.csv").write_text(header + "1,2,inf,4,a\n" + good_rows)
    (root / "empty.csv").write_text("")
    (root / "header-only.csv").write_text(header)
    (root / "no-label.csv").write_text(header.replace("label", "target") + good_rows)
    (root / "text-feature.csv").write_text(header + "1,two,3,4,a\n" + good_rows)
    (root / "ragged.csv").write_text(header + "1,2,3\n" + good_rows)
    (root / "one-class.csv").write_text(header + good_rows.replace(",b\n", ",a\n"))
    (root / "latin1.csv").write_bytes(header.encode() + b"1,2,3,\xe9,a\n")
    (root / "data.txt").write_text(header + good_rows)
    (root / "garbage.npz").write_bytes(b"not a zip at all")
    np.savez(root / "no-y.npz", x=np.zeros((20, 3), np.float32))
    np.savez(root / "float-y.npz", x=np.zeros((20, 3), np.float32), y=np.zeros(20, np.float32))
    np.savez(root / "nan.npz", x=np.full((40, 3), np.nan, np.float32), y=np.arange(40) % 2)
    np.savez(root / "zero-rows.npz", x=np.zeros((0, 3), np.float32), y=np.zeros(0, np.int64))
    (root / "a-directory.csv").mkdir(exist_ok=True)
    escape = root / "escape.csv"
    if not escape.is_symlink():
        escape.symlink_to("/etc/hostname")
    (root / "teacher.txt").write_text("not a model")
    marks = ["test" if i % 4 == 0 else "train" for i in range(40)]
    marked = "".join(f"{row},{m}\n" for row, m in zip(good_rows.splitlines(), marks, strict=True))
    split_header = header.replace(",label", ",label,split")
    (root / "bad-split.csv").write_text(split_header + marked + "1,2,3,4,a,holdout\n")


def _submit(**overrides) -> Callable[[Ctx], object]:
    return lambda c: c.stub.SubmitJob(
        pb.SubmitJobRequest(spec=spec_to_proto(digits_spec(**overrides)))
    )


def _submit_proto(edit: Callable[[pb.DistillSpec], None]) -> Callable[[Ctx], object]:
    def call(c: Ctx) -> object:
        msg = spec_to_proto(digits_spec())
        edit(msg)
        return c.stub.SubmitJob(pb.SubmitJobRequest(spec=msg))

    return call


def _file(path: str, label: str = "label") -> Callable[[Ctx], object]:
    return _submit(dataset=Dataset.from_path(path, label))


def _split_column(path: str, column: str) -> Callable[[Ctx], object]:
    return _submit(dataset=Dataset.from_path(path, split_column=column))


def _raw_submit(data: bytes) -> Callable[[Ctx], object]:
    return lambda c: c.channel.unary_unary(SUBMIT)(data)


def _upload(chunks_fn: Callable[[], object], rpc: str = "UploadDataset") -> Callable[[Ctx], object]:
    return lambda c: getattr(c.stub, rpc)(chunks_fn())


def _zip(entries: list[tuple[str, bytes, int | None]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return buffer.getvalue()


def _model_upload(data: bytes, name: str = "m.zip") -> Callable[[Ctx], object]:
    return _upload(lambda: upload_chunks(data, name), "UploadModel")


CSV = b"f0,label\n1,a\n2,b\n"
BOMB = _zip([("model/weights.bin", b"\0" * (2 * 1024 * 1024), None)])
CASES: list[tuple[str, Callable[[Ctx], object], grpc.StatusCode]] = [
    # ---- spec fields: malformed values
    ("epochs-negative", _submit(training=TrainingParams(epochs=-3)), G.INVALID_ARGUMENT),
    ("epochs-huge", _submit(training=TrainingParams(epochs=10**6)), G.INVALID_ARGUMENT),
    ("batch-zero", _submit(training=TrainingParams(batch_size=0)), G.INVALID_ARGUMENT),
    ("lr-nan", _submit(training=TrainingParams(learning_rate=float("nan"))), G.INVALID_ARGUMENT),
    ("lr-inf", _submit(training=TrainingParams(learning_rate=float("inf"))), G.INVALID_ARGUMENT),
    ("lr-negative", _submit(training=TrainingParams(learning_rate=-1.0)), G.INVALID_ARGUMENT),
    ("temperature-zero", _submit(training=TrainingParams(temperature=0.0)), G.INVALID_ARGUMENT),
    ("alpha-too-big", _submit(training=TrainingParams(alpha=1.5)), G.INVALID_ARGUMENT),
    ("alpha-nan", _submit(training=TrainingParams(alpha=float("nan"))), G.INVALID_ARGUMENT),
    ("workers-too-many", _submit(training=TrainingParams(workers=65)), G.INVALID_ARGUMENT),
    ("schedule-unknown", _submit(training=TrainingParams(schedule="warp")), G.INVALID_ARGUMENT),
    ("parity-nan", _submit(gates=Gates(max_parity_error=float("nan"))), G.INVALID_ARGUMENT),
    ("retention-negative", _submit(gates=Gates(min_retention=-1.0)), G.INVALID_ARGUMENT),
    ("mlp-empty", _submit(student=MlpConfig(())), G.INVALID_ARGUMENT),
    ("mlp-zero-width", _submit(student=MlpConfig((0,))), G.INVALID_ARGUMENT),
    ("mlp-negative-width", _submit(student=MlpConfig((-5,))), G.INVALID_ARGUMENT),
    ("cnn-even-kernel", _submit(student=CnnConfig((8,), 4)), G.INVALID_ARGUMENT),
    (
        "cnn-on-tabular",
        _submit(
            student=CnnConfig((8,)),
            teacher="german-credit-mlp",
            dataset=Dataset.builtin("german-credit"),
        ),
        G.INVALID_ARGUMENT,
    ),  # fmt: skip
    ("no-student", _submit_proto(lambda m: m.ClearField("student")), G.INVALID_ARGUMENT),
    ("no-dataset", _submit_proto(lambda m: m.ClearField("dataset")), G.INVALID_ARGUMENT),
    ("no-teacher", _submit_proto(lambda m: m.ClearField("teacher")), G.INVALID_ARGUMENT),
    ("quant-enum-7", _submit_proto(lambda m: setattr(m, "quantization", 7)), G.INVALID_ARGUMENT),
    (
        "transformer",
        _submit_proto(lambda m: m.student.transformer.SetInParent()),
        G.INVALID_ARGUMENT,
    ),
    (
        "teacher-and-upload",
        _submit_proto(lambda m: setattr(m.teacher, "upload_id", "upl-0")),
        G.INVALID_ARGUMENT,
    ),  # fmt: skip
    # ---- wrong-typed or corrupt wire bytes
    ("wire-truncated", _raw_submit(b"\x0a\x10abc"), G.INVALID_ARGUMENT),
    ("wire-bad-utf8", _raw_submit(b"\x0a\x03\x3a\x01\xff"), G.INVALID_ARGUMENT),
    ("wire-string-for-message", _raw_submit(b"\x0a\x04\x0a\x02\xff\xfe"), G.INVALID_ARGUMENT),
    ("wire-garbage", _raw_submit(bytes(range(256))), G.INVALID_ARGUMENT),
    ("message-too-large", _submit(name="x" * (5 * 1024 * 1024)), G.RESOURCE_EXHAUSTED),
    # ---- unknown names and ids
    ("unknown-teacher", _submit(teacher="no-such-teacher"), G.NOT_FOUND),
    ("unknown-builtin", _submit(dataset=Dataset.builtin("no-such-data")), G.NOT_FOUND),
    ("teacher-wrong-dataset", _submit(teacher="german-credit-mlp"), G.INVALID_ARGUMENT),
    (
        "unknown-dataset-upload",
        _submit(dataset=Dataset.uploaded("upl-00000000deadbeef")),
        G.NOT_FOUND,
    ),
    ("malformed-upload-id", _submit(dataset=Dataset.uploaded("../../etc")), G.NOT_FOUND),
    (
        "unknown-teacher-upload",
        _submit_proto(
            lambda m: (
                m.teacher.ClearField("reference"),
                setattr(m.teacher, "upload_id", "upl-1111111111111111"),
            )
        ),
        G.NOT_FOUND,
    ),  # fmt: skip
    ("get-unknown-job", lambda c: c.stub.GetJob(pb.GetJobRequest(job_id="job-nope")), G.NOT_FOUND),
    ("get-empty-id", lambda c: c.stub.GetJob(pb.GetJobRequest()), G.INVALID_ARGUMENT),
    ("cancel-unknown", lambda c: c.stub.CancelJob(pb.CancelJobRequest(job_id="x")), G.NOT_FOUND),
    ("watch-unknown", lambda c: list(c.stub.WatchJob(pb.WatchJobRequest(job_id="x"))), G.NOT_FOUND),
    (
        "watch-negative-seq",
        lambda c: list(c.stub.WatchJob(pb.WatchJobRequest(job_id=c.done_job, from_sequence=-1))),
        G.INVALID_ARGUMENT,
    ),  # fmt: skip
    (
        "download-unknown-job",
        lambda c: list(
            c.stub.DownloadArtifact(
                pb.DownloadArtifactRequest(job_id="job-x", file_name="model.onnx")
            )
        ),
        G.NOT_FOUND,
    ),  # fmt: skip
    (
        "download-traversal-name",
        lambda c: list(
            c.stub.DownloadArtifact(
                pb.DownloadArtifactRequest(job_id=c.done_job, file_name="../../bridge.db")
            )
        ),
        G.NOT_FOUND,
    ),  # fmt: skip
    (
        "download-offset-past-end",
        lambda c: list(
            c.stub.DownloadArtifact(
                pb.DownloadArtifactRequest(job_id=c.done_job, file_name="model.onnx", offset=10**12)
            )
        ),
        G.OUT_OF_RANGE,
    ),  # fmt: skip
    (
        "download-negative-offset",
        lambda c: list(
            c.stub.DownloadArtifact(
                pb.DownloadArtifactRequest(job_id=c.done_job, file_name="model.onnx", offset=-1)
            )
        ),
        G.OUT_OF_RANGE,
    ),  # fmt: skip
    (
        "download-cancelled-job",
        lambda c: list(
            c.stub.DownloadArtifact(
                pb.DownloadArtifactRequest(job_id=c.cancelled_job, file_name="model.onnx")
            )
        ),
        G.FAILED_PRECONDITION,
    ),  # fmt: skip
    # ---- paths: traversal, escapes, wrong kinds
    ("dataset-traversal", _file("../../etc/passwd"), G.INVALID_ARGUMENT),
    ("dataset-absolute-outside", _file("/etc/hostname"), G.INVALID_ARGUMENT),
    ("dataset-symlink-escape", _file("escape.csv"), G.INVALID_ARGUMENT),
    ("dataset-nul-byte", _file("a\x00b.csv"), G.INVALID_ARGUMENT),
    ("dataset-missing", _file("missing.csv"), G.NOT_FOUND),
    ("dataset-is-directory", _file("a-directory.csv"), G.INVALID_ARGUMENT),
    ("dataset-unsupported-type", _file("data.txt"), G.INVALID_ARGUMENT),
    ("teacher-outside-root", _submit(teacher="/etc/passwd.pt"), G.INVALID_ARGUMENT),
    ("teacher-traversal", _submit(teacher="../../../etc/shadow.onnx"), G.INVALID_ARGUMENT),
    ("teacher-wrong-suffix", _submit(teacher="./teacher.txt"), G.INVALID_ARGUMENT),
    # ---- dataset content
    ("dataset-nan", _file("nan.csv"), G.INVALID_ARGUMENT),
    ("dataset-inf", _file("inf.csv"), G.INVALID_ARGUMENT),
    ("dataset-empty-file", _file("empty.csv"), G.INVALID_ARGUMENT),
    ("dataset-header-only", _file("header-only.csv"), G.INVALID_ARGUMENT),
    ("dataset-missing-label-column", _file("no-label.csv"), G.INVALID_ARGUMENT),
    ("dataset-wrong-label-column", _file("nan.csv", label="nope"), G.INVALID_ARGUMENT),
    ("dataset-text-feature", _file("text-feature.csv"), G.INVALID_ARGUMENT),
    ("dataset-ragged-row", _file("ragged.csv"), G.INVALID_ARGUMENT),
    ("dataset-one-class", _file("one-class.csv"), G.INVALID_ARGUMENT),
    ("dataset-not-utf8", _file("latin1.csv"), G.INVALID_ARGUMENT),
    ("npz-garbage", _file("garbage.npz"), G.INVALID_ARGUMENT),
    ("npz-no-y", _file("no-y.npz"), G.INVALID_ARGUMENT),
    ("npz-float-labels", _file("float-y.npz"), G.INVALID_ARGUMENT),
    ("npz-nan", _file("nan.npz"), G.INVALID_ARGUMENT),
    ("npz-zero-rows", _file("zero-rows.npz"), G.INVALID_ARGUMENT),
    ("split-column-bad-value", _split_column("bad-split.csv", "split"), G.INVALID_ARGUMENT),
    ("split-column-missing", _split_column("bad-split.csv", "fold"), G.INVALID_ARGUMENT),
    ("split-column-in-npz", _split_column("nan.npz", "split"), G.INVALID_ARGUMENT),
    (
        "split-column-on-builtin",
        _submit(dataset=Dataset(name="digits", split_column="split")),
        G.INVALID_ARGUMENT,
    ),
    ("teacher-output-on-zoo", _submit(teacher_output="probabilities"), G.INVALID_ARGUMENT),
    # ---- uploads: corrupt, truncated, oversized, unsafe
    ("upload-empty-stream", _upload(lambda: iter(())), G.INVALID_ARGUMENT),
    ("upload-data-first", _upload(lambda: iter([pb.UploadChunk(data=b"x")])), G.INVALID_ARGUMENT),
    (
        "upload-metadata-twice",
        _upload(
            lambda: iter(
                [*upload_chunks(CSV, "a.csv"), pb.UploadChunk(metadata=pb.UploadMetadata())]
            )
        ),
        G.INVALID_ARGUMENT,
    ),  # fmt: skip
    (
        "upload-wrong-sha",
        _upload(lambda: upload_chunks(CSV, "a.csv", sha256="0" * 64)),
        G.DATA_LOSS,
    ),
    (
        "upload-corrupted-byte",
        _upload(
            lambda: upload_chunks(CSV, "a.csv", sha256=hashlib.sha256(CSV[:-1] + b"X").hexdigest())
        ),
        G.DATA_LOSS,
    ),  # fmt: skip
    (
        "upload-truncated",
        _upload(lambda: upload_chunks(CSV, "a.csv", declared_size=len(CSV) + 10)),
        G.DATA_LOSS,
    ),  # fmt: skip
    (
        "upload-longer-than-declared",
        _upload(lambda: upload_chunks(CSV, "a.csv", declared_size=4)),
        G.INVALID_ARGUMENT,
    ),  # fmt: skip
    (
        "upload-declared-oversize",
        _upload(lambda: upload_chunks(CSV, "a.csv", declared_size=2**40)),
        G.RESOURCE_EXHAUSTED,
    ),  # fmt: skip
    ("upload-zero-size", _upload(lambda: upload_chunks(b"", "a.csv")), G.INVALID_ARGUMENT),
    (
        "upload-bad-sha-format",
        _upload(lambda: upload_chunks(CSV, "a.csv", sha256="xyz")),
        G.INVALID_ARGUMENT,
    ),  # fmt: skip
    (
        "upload-name-traversal",
        _upload(lambda: upload_chunks(CSV, "../../x.csv")),
        G.INVALID_ARGUMENT,
    ),
    ("upload-name-empty", _upload(lambda: upload_chunks(CSV, "")), G.INVALID_ARGUMENT),
    ("upload-name-hidden", _upload(lambda: upload_chunks(CSV, ".bashrc.csv")), G.INVALID_ARGUMENT),
    ("upload-dataset-bad-suffix", _upload(lambda: upload_chunks(CSV, "a.exe")), G.INVALID_ARGUMENT),
    ("upload-model-bad-suffix", _model_upload(CSV, "model.csv"), G.INVALID_ARGUMENT),
    (
        "upload-kind-mismatch",
        _upload(lambda: upload_chunks(CSV, "a.csv", kind=pb.UPLOAD_KIND_MODEL)),
        G.INVALID_ARGUMENT,
    ),  # fmt: skip
    ("zip-corrupt", _model_upload(b"PK\x03\x04 this is not really a zip"), G.INVALID_ARGUMENT),
    (
        "zip-truncated",
        _model_upload(_zip([("m/config.json", b"{}" * 500, None)])[:-30]),
        G.INVALID_ARGUMENT,
    ),  # fmt: skip
    ("zip-slip", _model_upload(_zip([("../../evil.txt", b"x", None)])), G.INVALID_ARGUMENT),
    ("zip-absolute", _model_upload(_zip([("/tmp/evil.txt", b"x", None)])), G.INVALID_ARGUMENT),
    (
        "zip-symlink",
        _model_upload(_zip([("m/link", b"/etc/passwd", stat.S_IFLNK | 0o777)])),
        G.INVALID_ARGUMENT,
    ),  # fmt: skip
    ("zip-empty", _model_upload(_zip([])), G.INVALID_ARGUMENT),
]


def _health(channel: grpc.Channel) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 40
    assert len({name for name, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "call", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_the_right_status_and_the_server_lives(ctx, name, call, code):
    with pytest.raises(grpc.RpcError) as err:
        call(ctx)
    assert err.value.code() == code, f"{name}: {err.value.code()} {err.value.details()}"
    assert err.value.details(), f"{name}: no message"
    assert _health(ctx.channel) == health_pb2.HealthCheckResponse.SERVING


def test_a_zip_bomb_is_refused_past_the_extraction_cap(server, ctx):
    limits = server.uploads.limits
    server.uploads.limits = replace(limits, max_extracted_bytes=1024 * 1024)
    try:
        with pytest.raises(grpc.RpcError) as err:
            ctx.stub.UploadModel(upload_chunks(BOMB, "bomb.zip"))
    finally:
        server.uploads.limits = limits
    assert err.value.code() == G.RESOURCE_EXHAUSTED and "unpacks" in err.value.details()
    assert not list(server.uploads.directory.glob(".incoming-*")), "temp files left behind"


def test_an_oversized_upload_stream_is_refused(server, ctx):
    limits = server.uploads.limits
    server.uploads.limits = replace(limits, max_upload_bytes=1000)
    try:
        with pytest.raises(grpc.RpcError) as err:
            ctx.stub.UploadDataset(upload_chunks(b"1,2\n" * 1000, "big.csv"))
    finally:
        server.uploads.limits = limits
    assert err.value.code() == G.RESOURCE_EXHAUSTED and "limit" in err.value.details()


# ---------------------------------------------------------------- property-based fuzzing

_numbers = st.one_of(
    st.integers(-(2**31), 2**31 - 1),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
)
_texts = st.text(max_size=40)


@st.composite
def _specs(draw) -> pb.DistillSpec:
    msg = spec_to_proto(digits_spec())
    if draw(st.booleans()):
        msg.teacher.reference = draw(
            st.sampled_from(["digits-mlp", "", "x.onnx", "../a.pt"]) | _texts
        )
    if draw(st.booleans()):
        msg.teacher.upload_id = draw(_texts)
    kind = draw(st.sampled_from(["mlp", "cnn", "transformer", "none"]))
    if kind == "mlp":
        msg.student.mlp.hidden_sizes[:] = draw(
            st.lists(st.integers(-(2**31), 2**31 - 1), max_size=4)
        )
    elif kind == "cnn":
        msg.student.cnn.channels[:] = draw(st.lists(st.integers(-10, 5000), max_size=3))
        msg.student.cnn.kernel_size = draw(st.integers(-3, 40))
    elif kind == "transformer":
        msg.student.transformer.layers = draw(st.integers(-2, 8))
        msg.student.transformer.heads = draw(st.integers(-2, 16))
    else:
        msg.ClearField("student")
    source = draw(st.sampled_from(["builtin", "path", "upload_id", "none"]))
    if source == "none":
        msg.dataset.ClearField("builtin")
    else:
        setattr(msg.dataset, source, draw(st.sampled_from(["digits", "", "../../x"]) | _texts))
    msg.dataset.label_column = draw(_texts)
    if draw(st.booleans()):
        msg.dataset.split_column = draw(st.sampled_from(["split", "label"]) | _texts)
    if draw(st.booleans()):
        msg.teacher.output = draw(st.sampled_from(["probabilities", "logits"]) | _texts)
    t = msg.training
    for name in ("epochs", "batch_size", "workers"):
        if draw(st.booleans()):
            setattr(t, name, draw(st.integers(-(2**31), 2**31 - 1)))
    for name in ("learning_rate", "temperature", "alpha"):
        if draw(st.booleans()):
            setattr(t, name, draw(st.floats(allow_nan=True, allow_infinity=True)))
    if draw(st.booleans()):
        t.seed = draw(st.integers(-(2**63), 2**63 - 1))
    t.schedule = draw(st.sampled_from(["", "constant", "progressive"]) | _texts)
    g = msg.gates
    for name in ("max_parity_error", "max_int8_accuracy_drop", "min_retention"):
        if draw(st.booleans()):
            setattr(g, name, draw(st.floats(allow_nan=True, allow_infinity=True)))
    msg.quantization = draw(st.integers(-5, 5))
    msg.name = draw(_texts)
    return msg


ALLOWED = {G.INVALID_ARGUMENT, G.NOT_FOUND}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=_specs())
def test_fuzzed_submit_job_fields_never_break_the_server(ctx, spec):
    try:
        job = ctx.stub.SubmitJob(pb.SubmitJobRequest(spec=spec), timeout=30)
    except grpc.RpcError as e:
        assert e.code() in ALLOWED, f"{e.code()}: {e.details()} for {spec}"
        assert e.details()
    else:  # a valid spec slipped through: it must be a real job; do not let it run
        ctx.stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id))
        assert job.state == pb.JOB_STATE_QUEUED or job.state == pb.JOB_STATE_RUNNING


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=300))
def test_fuzzed_request_bytes_never_break_the_server(ctx, data):
    try:
        job = ctx.channel.unary_unary(SUBMIT)(data, timeout=30)
    except grpc.RpcError as e:
        assert e.code() in ALLOWED, f"{e.code()}: {e.details()}"
    else:
        ctx.stub.CancelJob(pb.CancelJobRequest(job_id=pb.Job.FromString(job).job_id))
    assert _health(ctx.channel) == health_pb2.HealthCheckResponse.SERVING
