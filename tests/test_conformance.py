"""One job, every door: specs that set every DistillSpec field (tests/spec_fields.py walks the
proto descriptor) go through each Python door with validate-only, and each door must answer
the very spec it was given, proto-equal. Java's gRPC and Py4J doors are checked the same way by
java-client's SpecConformanceTest. Events cross the wire with every field, both ways."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor

from bridge import Dataset, Distiller, SpecError, Teacher
from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.cli import main
from bridge.remote import RemoteClient
from bridge.spec import DistillSpec
from bridge.spec_args import SPEC_FLAGS
from bridge.wire import _EVENT_TYPES, event_from_proto, event_to_proto, spec_from_proto
from tests.spec_fields import (
    DATASET_UPLOAD,
    TEACHER_UPLOAD,
    Case,
    cases,
    get_path,
    leaf_paths,
    spec_message,
    spec_tree,
)


@pytest.fixture(scope="module")
def case_dir(server) -> Path:
    """Under the test server's data root, so server-side doors may read the case files."""
    return server.jobs.paths.data_root / "conformance"


@pytest.fixture(scope="module")
def all_cases(case_dir: Path) -> list[Case]:
    return cases(case_dir)


@pytest.fixture(scope="module")
def target(server) -> str:
    return f"127.0.0.1:{server.port}"


@pytest.fixture(scope="module")
def upload_ids(target: str, case_dir: Path, all_cases: list[Case]) -> dict[str, str]:
    """The placeholders' real ids on the test server (each door may upload on its own; these
    are uploaded once with the remote client)."""
    case = next(c for c in all_cases if c.uploads)
    with RemoteClient(target, plaintext=True) as client:
        teacher = client.upload_model(case_dir / case.uploads["teacher"]).upload_id
        dataset = client.upload_dataset(case_dir / case.uploads["dataset"]).upload_id
    return {TEACHER_UPLOAD: teacher, DATASET_UPLOAD: dataset}


def _expected(case: Case, ids: dict[str, str]) -> pb.DistillSpec:
    text = json_format.MessageToJson(spec_message(case))
    for placeholder, real in ids.items():
        text = text.replace(placeholder, real)
    return json_format.Parse(text, pb.DistillSpec())


def _assert_same(got: pb.DistillSpec, expected: pb.DistillSpec, door: str) -> None:
    assert got == expected, (
        f"{door} changed the spec:\n--- got\n{json_format.MessageToJson(got)}\n"
        f"--- expected\n{json_format.MessageToJson(expected)}"
    )


# ---------------------------------------------------------------- the cases themselves


def test_the_cases_set_every_field_of_the_spec_to_a_non_default_value(all_cases):
    """A field the proto gains later is set by the generator; this fails if one is missed."""
    trees = [spec_tree(c) for c in all_cases]
    for path, field in leaf_paths():
        default = [] if field.is_repeated else field.default_value
        if field.enum_type is not None:
            default = field.enum_type.values_by_number[default].name
        values = [get_path(t, path) for t in trees]
        explicit = field.has_presence and not field.is_repeated  # `optional`: set is enough
        assert any(v is not None and (explicit or v != default) for v in values), path


def test_every_case_is_already_normalized(all_cases):
    """wire round trip is the identity: spec_to_proto(spec_from_proto(x)) == x."""
    from bridge.wire import spec_to_proto

    for case in all_cases:
        message = spec_message(case)
        _assert_same(spec_to_proto(spec_from_proto(message)), message, f"wire ({case.name})")


# ---------------------------------------------------------------- Python doors


def _through_fluent_api(distiller: Distiller, spec: DistillSpec) -> DistillSpec:
    """The spec described with the public fluent API, then validated (nothing runs)."""
    distiller.set_student_config(spec.student).enable_quantization(spec.quantization)
    distiller.set_gates(spec.gates).set_name(spec.name)
    distiller.set_registered_model_name(spec.registered_model_name)
    distiller.set_teacher_preparation(spec.teacher_preparation)
    if spec.is_self_distillation:
        distiller.set_self_distillation(spec.self_distillation)
    elif spec.teacher_upload_id:
        distiller.set_teacher(Teacher.uploaded(spec.teacher_upload_id, output=spec.teacher_output))
    elif spec.teacher_output:
        distiller.set_teacher(Teacher(spec.teacher, output=spec.teacher_output))
    else:
        distiller.set_teacher(spec.teacher)
    return distiller.validate(spec.dataset, spec.training)


def test_python_local_door(all_cases, home):
    from bridge.wire import spec_to_proto

    for case in all_cases:
        spec = spec_from_proto(spec_message(case))
        if case.local_refusal_field:
            with pytest.raises(SpecError) as refused:
                _through_fluent_api(Distiller(home=home), spec)
            assert refused.value.field == case.local_refusal_field
            continue
        got = spec_to_proto(_through_fluent_api(Distiller(home=home), spec))
        _assert_same(got, spec_message(case), f"Python local ({case.name})")


def test_python_remote_door(all_cases, target, upload_ids):
    from bridge.wire import spec_to_proto

    for case in all_cases:
        expected = _expected(case, upload_ids)
        with Distiller.remote(target, plaintext=True) as distiller:
            got = spec_to_proto(_through_fluent_api(distiller, spec_from_proto(expected)))
        _assert_same(got, expected, f"Python remote ({case.name})")


def _cli_dry_run(argv: list[str], capsys) -> tuple[int, Any]:
    code = main(["distill", *argv, "--dry-run"])
    captured = capsys.readouterr()
    return code, (json_format.Parse(captured.out, pb.DistillSpec()) if code == 0 else captured.err)


def test_cli_json_door(all_cases, target, upload_ids, tmp_path, capsys):
    for case in all_cases:
        expected = _expected(case, upload_ids)
        config = tmp_path / f"{case.name}.json"
        config.write_text(json_format.MessageToJson(expected))
        remote = ["--remote", target, "--plaintext"]
        code, got = _cli_dry_run(["--config", str(config), *remote], capsys)
        assert code == 0, got
        _assert_same(got, expected, f"CLI JSON, remote ({case.name})")
        code, got = _cli_dry_run(["--config", str(config)], capsys)
        if case.local_refusal_field:
            assert code == 2 and case.local_refusal_field in got
        else:
            assert code == 0, got
            _assert_same(got, expected, f"CLI JSON, local ({case.name})")


def _flags(tree: dict[str, Any], prefix: str = "") -> list[str]:
    """The spec as command-line flags: a named flag where one sets exactly that field, else
    --set FIELD=JSON."""
    by_path = {f.path: f for f in SPEC_FLAGS if f.path is not None}
    argv: list[str] = []
    for name, value in tree.items():
        path = prefix + name
        if isinstance(value, dict):
            argv += _flags(value, path + ".")
        elif path in by_path and not isinstance(value, list):
            argv += [f"--{by_path[path].name}", str(value)]
        else:
            argv += ["--set", f"{path}={json.dumps(value)}"]
    return argv


def test_cli_flags_door(all_cases, target, upload_ids, capsys):
    named = 0
    for case in all_cases:
        expected = _expected(case, upload_ids)
        tree = json_format.MessageToDict(expected, preserving_proto_field_name=True)
        argv = _flags(tree)
        named += sum(a.startswith("--") and a != "--set" for a in argv)
        code, got = _cli_dry_run([*argv, "--remote", target, "--plaintext"], capsys)
        assert code == 0, got
        _assert_same(got, expected, f"CLI flags ({case.name}): {argv}")
    assert named >= 20  # the named flags were exercised, not only --set


def test_a_flag_overrides_the_config_only_when_given(tmp_path, capsys):
    config = tmp_path / "job.json"
    config.write_text(
        json.dumps(
            {
                "teacher": {"reference": "digits-mlp"},
                "student": {"cnn": {"channels": [4], "kernelSize": 5}},
                "dataset": {"builtin": "digits"},
                "gates": {"minRetention": 0.5, "maxParityError": 0.001},
            }
        )
    )
    code, got = _cli_dry_run(["--config", str(config)], capsys)
    assert code == 0, got
    assert got.student.cnn.kernel_size == 5  # no --kernel-size default replaced the file's
    assert got.gates.min_retention == 0.5 and got.gates.max_parity_error == 0.001
    code, got = _cli_dry_run(["--config", str(config), "--kernel-size", "3"], capsys)
    assert got.student.cnn.kernel_size == 3 and list(got.student.cnn.channels) == [4]
    code, got = _cli_dry_run(["--config", str(config), "--mlp", "8"], capsys)
    assert got.student.WhichOneof("kind") == "mlp"  # the flag replaced the file's choice


def test_the_cli_config_refuses_unknown_keys_and_bad_json(tmp_path, capsys):
    config = tmp_path / "job.json"
    config.write_text(json.dumps({"teacher": {"reference": "digits-mlp"}, "gates": {"minRet": 1}}))
    assert main(["distill", "--config", str(config), "--dry-run"]) == 2
    assert "minRet" in capsys.readouterr().err
    config.write_text('{"teacher": ')
    assert main(["distill", "--config", str(config), "--dry-run"]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert main(["distill", "--config", str(tmp_path / "missing.json"), "--dry-run"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_print_config_writes_a_complete_spec_the_cli_reads_back(tmp_path, capsys):
    assert main(["distill", "--print-config"]) == 0
    printed = capsys.readouterr().out
    config = tmp_path / "job.json"
    config.write_text(printed)
    code, got = _cli_dry_run(["--config", str(config)], capsys)
    assert code == 0, got
    assert got == json_format.Parse(printed, pb.DistillSpec())


def test_validate_only_queues_nothing(stub, all_cases, server):
    before = len(server.jobs.list())
    case = all_cases[0]
    answer = stub.SubmitJob(pb.SubmitJobRequest(spec=spec_message(case), validate_only=True))
    assert answer.job_id == "" and answer.state == pb.JOB_STATE_UNSPECIFIED
    _assert_same(answer.spec, spec_message(case), "SubmitJob validate_only")
    assert len(server.jobs.list()) == before


def test_the_python_api_refuses_self_distillation_with_another_teacher(home):
    from bridge import MlpConfig, SelfDistillation

    distiller = Distiller(home=home).set_self_distillation(SelfDistillation(ship_exit=1))
    distiller.set_teacher("digits-mlp").set_student_config(MlpConfig((8, 8)))
    with pytest.raises(SpecError) as refused:
        distiller.validate(Dataset.builtin("digits"))
    assert refused.value.field == "self_distillation"


# ---------------------------------------------------------------- events


def _filled(descriptor) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for i, f in enumerate(descriptor.fields, start=1):
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            values[f.name] = {f"{f.name}-{i}": i + 0.5}  # map<string, double>
        elif f.type == FieldDescriptor.TYPE_BOOL:
            values[f.name] = True
        elif f.type == FieldDescriptor.TYPE_STRING:
            values[f.name] = f"{f.name}-{i}"
        elif f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            values[f.name] = i + 0.5
        else:
            values[f.name] = i
    return values


@pytest.mark.parametrize("kind", sorted(_EVENT_TYPES))
def test_every_event_field_crosses_the_wire_both_ways(kind):
    descriptor = pb.JobEvent.DESCRIPTOR.fields_by_name[kind].message_type
    event_type = _EVENT_TYPES[kind]
    assert {f.name for f in fields(event_type)} == {f.name for f in descriptor.fields}
    message = pb.JobEvent(**{kind: _filled(descriptor)})
    event = event_from_proto(message)
    assert event_to_proto(event) == message
    assert event_from_proto(event_to_proto(event)) == event


def test_every_job_event_kind_but_finished_has_a_pipeline_event():
    kinds = {f.name for f in pb.JobEvent.DESCRIPTOR.oneofs_by_name["event"].fields}
    assert kinds - set(_EVENT_TYPES) == {"finished"}
