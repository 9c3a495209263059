"""Bad input at every CLI door: exit 2 and one line naming the flag or field, no traceback
(issue 16's table and more), and the Python constructors: any value gives a valid object or a
`SpecError` naming a field, never another exception."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.cli import main
from bridge.spec import (
    CnnConfig,
    Dataset,
    Gates,
    MlpConfig,
    SelfDistillation,
    SpecError,
    TeacherPreparation,
    TrainingParams,
    TransformerConfig,
)

DIGITS = ["--teacher", "digits-mlp", "--dataset", "digits", "--mlp", "8"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("bad-input")
    (d / "empty.txt").write_text("")
    (d / "token").write_text("s3cret\n")
    (d / "not.pem").write_text("hello\n")
    (d / "pem.pem").write_text("-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n")
    (d / "regular").write_text("a file, not a directory")
    (d / "bad.json").write_text('{"teacher": ')
    (d / "unknown.json").write_text('{"gates": {"minRet": 1}}')
    (d / "taken").mkdir()
    return {
        "missing": str(d / "missing"),
        "empty": str(d / "empty.txt"),
        "token": str(d / "token"),
        "not_pem": str(d / "not.pem"),
        "pem": str(d / "pem.pem"),
        "under_file": str(d / "regular" / "x"),
        "bad_json": str(d / "bad.json"),
        "unknown_json": str(d / "unknown.json"),
        "taken": str(d / "taken"),
    }


@pytest.fixture(scope="module")
def busy_port():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield str(listener.getsockname()[1])


def _rows(f: dict[str, str], busy: str) -> list[tuple[list[str], str]]:
    """(argv, what the message must name)."""
    return [
        (["serve", "--data-root", f["missing"]], "--data-root"),
        (["serve", "--data-dir", f["under_file"]], "--data-dir"),
        (["serve", "--port", "-1"], "--port"),
        (["serve", "--port", "70000"], "--port"),
        (["serve", "--port", "abc"], "--port"),
        (["serve", "--port", busy], "--port"),
        (["serve", "--metrics-port", "99999"], "--metrics-port"),
        (["serve", "--metrics-port", "-5"], "--metrics-port"),
        (["serve", "--metrics-port", busy], "--metrics-port"),
        (["serve", "--tls-cert", f["missing"], "--tls-key", f["missing"]], "--tls-cert"),
        (["serve", "--tls-cert", f["pem"]], "--tls-key"),
        (["serve", "--tls-key", f["pem"]], "--tls-cert"),
        (["serve", "--tls-client-ca", f["pem"]], "--tls-client-ca"),
        (["serve", "--tls-cert", f["not_pem"], "--tls-key", f["pem"]], "--tls-cert"),
        (["serve", "--tls-cert", f["pem"], "--tls-key", f["not_pem"]], "--tls-key"),
        (["serve", "--auth-token-file", f["missing"]], "--auth-token-file"),
        (["serve", "--auth-token-file", f["empty"]], "--auth-token-file"),
        (["serve", "--max-concurrent-jobs", "0"], "--max-concurrent-jobs"),
        (["serve", "--max-concurrent-jobs", "-3"], "--max-concurrent-jobs"),
        (["serve", "--max-queued-jobs", "-1"], "--max-queued-jobs"),
        (["serve", "--max-upload-bytes", "0"], "--max-upload-bytes"),
        (["serve", "--max-message-bytes", "10"], "--max-message-bytes"),
        (["serve", "--log-format", "xml"], "--log-format"),
        (["serve", "--ready-file", f["under_file"] + "/ready.json"], "--ready-file"),
        (["serve", "--bogus"], "--bogus"),
        (["serve", "--executor", "ray"], "--ray-address"),
        (["serve", "--executor", "k8s"], "--executor"),
        (["serve", "--ray-address", "auto"], "--ray-address"),  # only with --executor ray
        (["serve", "--ray-cpus", "2"], "--ray-cpus"),
        (["serve", "--executor", "ray", "--ray-address", "auto", "--ray-cpus", "0"], "--ray-cpus"),
        (["serve", "--executor", "ray", "--ray-address", "auto", "--ray-gpus", "-1"], "--ray-gpus"),
        (["serve", "--job-retries", "-1"], "--job-retries"),
        (["serve", "--mlflow-tracking-uri", "mlflow.internal:5000"], "--mlflow-tracking-uri"),
        (["serve", "--mlflow-tracking-uri", "http://"], "--mlflow-tracking-uri"),
        (["serve", "--mlflow-tracking-uri", "http://h:99999"], "--mlflow-tracking-uri"),
        (["serve", "--mlflow-alias", "champion"], "--mlflow-alias"),  # needs a tracking URI
        (
            ["serve", "--mlflow-tracking-uri", "http://h:5000", "--mlflow-alias", "latest"],
            "--mlflow-alias",
        ),
        (
            ["serve", "--mlflow-tracking-uri", "http://h:5000", "--mlflow-alias", "a/b"],
            "--mlflow-alias",
        ),
        (["serve", "--teacher-cache-budget", "lots"], "--teacher-cache-budget"),
        (["serve", "--teacher-cache-budget", "disk=1GB,ram=2GB"], "--teacher-cache-budget"),
        (["serve", "--teacher-cache-budget", "features=fp8"], "--teacher-cache-budget"),
        (
            ["distill", *DIGITS, "--teacher-cache-budget", "1XB", "--dry-run"],
            "--teacher-cache-budget",
        ),
        (
            [
                "distill",
                *DIGITS,
                "--remote",
                "127.0.0.1:1",
                "--teacher-cache-budget",
                "1G",
                "--dry-run",
            ],
            "--teacher-cache-budget",
        ),
        (["debug-server", "--port", "-1"], "--port"),
        (["debug-server", "--port", busy], "--port"),
        (["debug-server", "--home", f["under_file"]], "--home"),
        (["debug-server", "--connection-file", f["under_file"] + "/c.json"], "--connection-file"),
        (["distill", *DIGITS[:4], "--mlp", "a,b", "--dry-run"], "--mlp"),
        (["distill", *DIGITS, "--epochs", "0", "--dry-run"], "training.epochs"),
        (["distill", *DIGITS, "--epochs", "x"], "--epochs"),
        (["distill", "--config", f["missing"], "--dry-run"], "--config"),
        (["distill", "--config", f["bad_json"], "--dry-run"], "--config"),
        (["distill", "--config", f["unknown_json"], "--dry-run"], "minRet"),
        (["distill", *DIGITS, "--out", f["taken"]], "--out"),
        (["distill", *DIGITS, "--remote", "no-port", "--dry-run"], "--remote"),
        *_connection_rows(f),
        (["distill", *DIGITS], "--out"),
        (["distill", *DIGITS, "--set", "gates.bogus=1", "--dry-run"], "bogus"),
        (["distill", *DIGITS, "--set", "no-equals", "--dry-run"], "--set"),
        (["distill", *DIGITS[:4], "--transformer", "1,2", "--dry-run"], "--transformer"),
        (["distill", "--teacher", "no-such", *DIGITS[2:], "--dry-run"], "teacher.reference"),
        (["distill", *DIGITS, "--label-column", "y", "--dry-run"], "dataset.label_column"),
        (["distill", *DIGITS, "--test-fraction", "0.9", "--dry-run"], "dataset.test_fraction"),
        (["distill", *DIGITS, "--split-column", "split", "--dry-run"], "dataset.split_column"),
        (["distill", *DIGITS, "--teacher-output", "probs", "--dry-run"], "teacher.output"),
        (
            ["distill", *DIGITS, "--registered-model-name", "a/b", "--dry-run"],
            "registered_model_name",
        ),
        (
            ["distill", *DIGITS, "--mlflow-tracking-uri", "ftp://x", "--dry-run"],
            "--mlflow-tracking-uri",
        ),
        (["distill", *DIGITS, "--mlflow-alias", "v2", "--dry-run"], "--mlflow-alias"),
        (
            [
                "distill",
                *DIGITS,
                "--remote",
                "127.0.0.1:1",
                "--plaintext",
                "--mlflow-tracking-uri",
                "http://127.0.0.1:5000",
                "--dry-run",
            ],
            "--mlflow-tracking-uri",
        ),
        (["inspect", f["missing"]], "directory"),
        (["inspect"], "directory"),
        (["demo", "--out", f["taken"]], "--out"),
        (["no-such-command"], "no-such-command"),
        ([], "COMMAND"),
    ]


def _connection_rows(f: dict[str, str]) -> list[tuple[list[str], str]]:
    """The --remote connection flags: each needs --remote; pairs, conflicts and files are
    checked before connecting (nothing listens on port 1)."""
    distill, remote = ["distill", *DIGITS, "--dry-run"], ["--remote", "127.0.0.1:1"]
    alone = [
        (["--plaintext"], "--plaintext"),
        (["--trust-certificate", f["pem"]], "--trust-certificate"),
        (["--client-certificate", f["pem"], "--client-key", f["pem"]], "--client-certificate"),
        (["--client-key", f["pem"]], "--client-key"),
        (["--token-file", f["token"]], "--token-file"),
        (["--allow-insecure-token"], "--allow-insecure-token"),
    ]
    with_remote = [
        (["--plaintext", "--trust-certificate", f["pem"]], "--plaintext"),
        (["--client-key", f["pem"]], "--client-certificate"),
        (["--client-certificate", f["pem"]], "--client-key"),
        (["--trust-certificate", f["missing"]], "--trust-certificate"),
        (["--trust-certificate", f["not_pem"]], "--trust-certificate"),
        (["--token-file", f["missing"]], "--token-file"),
        (["--token-file", f["empty"]], "--token-file"),
        (["--plaintext", "--token-file", f["token"]], "--allow-insecure-token"),
    ]
    needs_remote = [([*distill, *argv], f"{flag}: configures") for argv, flag in alone]
    return needs_remote + [([*distill, *remote, *argv], named) for argv, named in with_remote]


def test_every_bad_invocation_exits_2_with_one_line_naming_it(files, busy_port, capsys):
    rows = _rows(files, busy_port)
    assert len(rows) >= 40
    for argv, named in rows:
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own errors
            code = e.code
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert named in err, (argv, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (argv, err)


# ---------------------------------------------------------------- Python constructors

ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(min_value=-(10**6), max_value=10**6), max_size=4),
    st.lists(st.floats(allow_nan=True), max_size=3),
    st.tuples(st.text(max_size=3)),
)

CONSTRUCTORS = {
    MlpConfig: ("student.mlp", ["hidden_sizes"]),
    CnnConfig: ("student.cnn", ["channels", "kernel_size"]),
    TransformerConfig: (
        "student.transformer",
        [
            "layers",
            "hidden_size",
            "heads",
            "intermediate_size",
            "max_seq_len",
            "init_from_teacher",
            "prune_vocabulary",
        ],
    ),
    TrainingParams: (
        "training",
        [
            "epochs",
            "batch_size",
            "learning_rate",
            "temperature",
            "alpha",
            "seed",
            "schedule",
            "workers",
            "hidden_weight",
            "attention_weight",
            "layer_map",
        ],
    ),  # fmt: skip
    Gates: (
        "gates",
        ["max_parity_error", "max_int8_accuracy_drop", "min_retention", "fp32_fallback"],
    ),  # fmt: skip
    TeacherPreparation: ("teacher.preparation", ["fine_tune_encoder", "epochs", "learning_rate"]),
    SelfDistillation: ("self_distillation", ["ship_exit", "feature_weight", "tokenizer"]),
    Dataset: (
        "dataset",
        [
            "name",
            "path",
            "label_column",
            "text_column",
            "validation_path",
            "test_path",
            "validation_fraction",
            "test_fraction",
            "split_column",
        ],
    ),  # fmt: skip
}


@pytest.mark.parametrize("cls", list(CONSTRUCTORS), ids=lambda c: c.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_constructor_input_is_a_valid_object_or_a_spec_error_naming_a_field(cls, data):
    prefix, names = CONSTRUCTORS[cls]
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    kwargs = {name: data.draw(ANY, label=name) for name in chosen}
    try:
        obj = cls(**kwargs)
        obj.validate(3) if cls is SelfDistillation else obj.validate()
    except SpecError as e:
        assert e.field.startswith(prefix), (kwargs, e.field)


# ---------------------------------------------------------------- size limits


def test_the_size_estimate_is_the_real_students_parameter_count(digits):
    from bridge.models import build_student, count_parameters
    from bridge.models.size import student_parameters

    for config in (MlpConfig((32, 16)), CnnConfig((8, 16), 5)):
        built = count_parameters(build_student(config, digits))
        estimate = student_parameters(config, digits.input_shape, digits.num_classes)
        assert estimate == built


def test_an_oversize_student_is_refused_at_submit_with_resource_exhausted(stub, server):
    import grpc

    from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
    from bridge.wire import spec_to_proto
    from tests.conftest import digits_spec

    before = len(server.jobs.list())
    huge = spec_to_proto(digits_spec(student=MlpConfig((65536, 65536))))
    with pytest.raises(grpc.RpcError) as refused:
        stub.SubmitJob(pb.SubmitJobRequest(spec=huge))
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refused.value.details().startswith("student.mlp: this student would have 4,")
    assert len(server.jobs.list()) == before


def test_a_transformer_student_is_bounded_by_its_teacher(home):
    from bridge import Distiller

    distiller = Distiller(home=home).set_teacher("minilm-l6")
    for config, field in (
        (TransformerConfig(layers=8, hidden_size=384, max_seq_len=64), "layers"),
        (TransformerConfig(layers=2, hidden_size=384, max_seq_len=1024), "max_seq_len"),
    ):
        with pytest.raises(SpecError) as refused:
            distiller.set_student_config(config).validate(Dataset.builtin("airline-sentiment"))
        assert refused.value.field == f"student.transformer.{field}"
