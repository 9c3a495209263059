"""Trusting the artifact: pre-flight, operator checks, gates (INT8 with and without the fp32
fallback) and the JVM check, on students built to fail each of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

import bridge.export.gates as export_gates
import bridge.pipeline as pipeline
import bridge.student_prep as student_prep
from bridge.data.features import float_features
from bridge.errors import DistillError, GateError
from bridge.events import StageEvent
from bridge.export.manifest import read_manifest, verify_files, write_manifest
from bridge.export.preflight import preflight, preflight_batches
from bridge.export.quantize import quantize_int8
from bridge.export.verify import assert_cpu_runs, operator_report
from bridge.jvm import ENV_CLASSPATH, FAILED, PASSED, SKIPPED, find_classpath, verify_in_jvm
from bridge.pipeline import RunContext, run
from bridge.spec import Gates, MlpConfig, QuantType
from tests.conftest import digits_spec

# ---------------------------------------------------------------- students built to fail


class _Noisy(torch.nn.Module):
    """Breaks parity: PyTorch and ONNX Runtime draw different random numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1)) + torch.rand_like(self.fc(x.flatten(1)))


class _DataDependent(torch.nn.Module):
    """Cannot export: Python control flow on a tensor's value."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return self.fc(x.flatten(1))
        return -self.fc(x.flatten(1))


class _ThreeClasses(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(64, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


@pytest.fixture
def batches(digits):
    return preflight_batches(float_features(digits.train))


def test_preflight_passes_a_sound_student_and_reports_what_it_checked(batches, tmp_path):
    student = _ThreeClasses()
    student.fc = torch.nn.Linear(64, 10)
    report = preflight(student, batches, 10, tmp_path, 1e-4)
    assert report.shapes == ((1, 1, 8, 8), (3, 1, 8, 8), (17, 1, 8, 8))
    assert report.parity_max_abs_diff <= 1e-5
    assert [o["op_type"] for o in report.operators if o["op_type"] == "Gemm"] == ["Gemm"]
    assert student.training, "the student goes back to train mode"
    assert list(tmp_path.iterdir()) == [], "the pre-flight model is removed"


def test_preflight_fails_a_parity_breaking_student_at_the_gate_with_both_numbers(batches, tmp_path):
    with pytest.raises(GateError) as e:
        preflight(_Noisy(), batches, 10, tmp_path, 1e-4)
    assert e.value.gate == "max_parity_error" and e.value.limit == 1e-4
    assert e.value.measured > 1e-2
    assert "ONNX Runtime vs PyTorch on the untrained student, inputs [1, 1, 8, 8]" in str(e.value)
    assert "limit 0.0001" in str(e.value)


def test_preflight_reports_the_exporters_reason(batches, tmp_path):
    with pytest.raises(DistillError, match=r"^pre-flight: ONNX export failed: \w+"):
        preflight(_DataDependent(), batches, 10, tmp_path, 1e-4)


def test_preflight_refuses_a_wrong_output_shape(batches, tmp_path):
    with pytest.raises(
        DistillError, match=r"batch 1 gave output shape \[1, 3\], expected \[1, 10\]"
    ):
        preflight(_ThreeClasses(), batches, 10, tmp_path, 1e-4)


def _model_with(node: onnx.NodeProto, path: Path, opsets: list) -> Path:
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 4])],
    )
    onnx.save(helper.make_model(graph, opset_imports=opsets, ir_version=10), str(path))
    return path


def test_an_operator_ort_cannot_run_is_refused_naming_it_and_ORTs_reason(tmp_path):
    path = _model_with(
        helper.make_node("Frobnicate", ["input"], ["logits"], domain="com.acme"),
        tmp_path / "custom.onnx",
        [helper.make_opsetid("", 18), helper.make_opsetid("com.acme", 1)],
    )
    report = operator_report(path)
    assert report == [
        {
            "op_type": "Frobnicate",
            "domain": "com.acme",
            "opset": 1,
            "since_version": 1,
            "count": 1,
            "cpu": False,
            "cpu_via": None,
        }
    ]
    with pytest.raises(DistillError) as e:
        assert_cpu_runs(path)
    message = str(e.value)
    assert message.startswith("ONNX Runtime's CPU provider cannot run custom.onnx: ")
    assert "com.acme:Frobnicate(-1) is not a registered function/op" in message  # ORT's reason
    assert "operators without a CPU kernel: com.acme::Frobnicate (opset 1)" in message


def test_function_operators_count_as_runnable_because_ort_expands_them(tmp_path):
    path = _model_with(
        helper.make_node("HardSwish", ["input"], ["logits"]),
        tmp_path / "hs.onnx",
        [helper.make_opsetid("", 18)],
    )
    (op,) = assert_cpu_runs(path)
    assert (op["op_type"], op["since_version"], op["cpu"], op["cpu_via"]) == (
        "HardSwish",
        14,
        True,
        "function",
    )


def test_a_bad_student_fails_the_job_at_preflight_before_the_teacher_runs(
    home, tmp_path, monkeypatch
):
    monkeypatch.setattr(student_prep, "build_student", lambda config, dataset: _Noisy())
    events = []
    with pytest.raises(GateError, match="gate max_parity_error failed.*pre-flight"):
        run(digits_spec(), tmp_path / "o", RunContext(home), events.append)
    stages = [e.stage for e in events if isinstance(e, StageEvent)]
    assert stages == ["load", "preflight"]
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.partial").exists()


# ---------------------------------------------------------------- the INT8 gate


def _broken_int8(fp32: Path, out: Path, op_types: list[str]) -> Path:
    """Real quantization, then every INT8 weight zeroed: the model keeps running in ONNX Runtime
    but predicts from its biases alone, far below the fp32 student."""
    quantize_int8(fp32, out, op_types)
    model = onnx.load(str(out))
    for tensor in model.graph.initializer:
        if tensor.data_type == TensorProto.INT8:
            zeros = np.zeros(onnx.numpy_helper.to_array(tensor).shape, dtype=np.int8)
            tensor.CopyFrom(onnx.numpy_helper.from_array(zeros, tensor.name))
    onnx.save(model, str(out))
    return out


def test_int8_gate_failure_fails_the_job_naming_the_gate_and_both_numbers(
    home, tmp_path, monkeypatch
):
    monkeypatch.setattr(export_gates, "quantize_int8", _broken_int8)
    with pytest.raises(GateError) as e:
        run(digits_spec(gates=Gates(max_int8_accuracy_drop=0.02)), tmp_path / "o", RunContext(home))
    assert e.value.gate == "max_int8_accuracy_drop" and e.value.limit == 0.02
    assert e.value.measured > 0.3
    assert f"measured {e.value.measured:.6g}, limit 0.02" in str(e.value)
    assert not (tmp_path / "o").exists()


def test_int8_gate_failure_with_fp32_fallback_ships_fp32_and_says_so(home, tmp_path, monkeypatch):
    monkeypatch.setattr(export_gates, "quantize_int8", _broken_int8)
    spec = digits_spec(gates=Gates(max_int8_accuracy_drop=0.02, fp32_fallback=True))
    result = run(spec, tmp_path / "o", RunContext(home))
    names = sorted(p.name for p in result.artifact_dir.iterdir())
    assert names == ["manifest.json", "model.onnx", "report"]
    assert result.metrics["int8_fallback"] == 1.0
    assert result.metrics["int8_accuracy_drop"] > 0.3
    assert "student_int8_accuracy" not in result.metrics
    manifest = result.manifest
    assert manifest["models"] == {"fp32": "model.onnx", "int8": None}
    assert manifest["quantization"] is None
    assert set(manifest["operators"]) == {"model.onnx"}
    (gate,) = [
        g for g in manifest["verification"]["gates"] if g["gate"] == "max_int8_accuracy_drop"
    ]
    assert gate["passed"] is False and gate["action"].startswith("fp32_fallback")
    report = (result.artifact_dir / "report" / "report.md").read_text()
    assert "| `max_int8_accuracy_drop` |" in report and "**failed** (fp32_fallback" in report
    assert "INT8 ONNX" not in report  # no INT8 model shipped, so no INT8 accuracy row
    assert manifest["verification"]["jvm"]["status"] == PASSED
    assert set(manifest["verification"]["jvm"]["models"]) == {"model.onnx"}


# ---------------------------------------------------------------- the JVM check


@pytest.fixture(scope="module")
def artifact(home, tmp_path_factory):
    out = tmp_path_factory.mktemp("jvm") / "artifact"
    return run(digits_spec(student=MlpConfig((16,))), out, RunContext(home)).artifact_dir


def _copy(artifact: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(artifact, tmp_path / "copy"))


def test_jvm_check_fails_on_a_tampered_golden_vector_with_javas_message(artifact, tmp_path):
    copy = _copy(artifact, tmp_path)
    manifest = read_manifest(copy)
    manifest["golden_vectors"]["model.int8.onnx"]["output"][0] += 0.5
    write_manifest(copy, manifest)
    check = verify_in_jvm(copy)
    assert check.status == FAILED
    assert check.reason.startswith("model.int8.onnx: GOLDEN_MISMATCH: golden vector mismatch")
    assert "max abs diff 0.5" in check.reason


def test_jvm_check_fails_on_a_tampered_model_file(artifact, tmp_path):
    copy = _copy(artifact, tmp_path)
    data = bytearray((copy / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 1
    (copy / "model.onnx").write_bytes(bytes(data))
    check = verify_in_jvm(copy)
    assert check.status == FAILED
    assert "sha256 mismatch for model.onnx" in check.reason


def test_a_failed_jvm_check_fails_the_job(home, tmp_path, monkeypatch):
    def tamper_then_check(directory: Path):
        manifest = read_manifest(directory)
        manifest["golden_vectors"]["model.onnx"]["output"][1] -= 1.0
        write_manifest(directory, manifest)
        return verify_in_jvm(directory)

    monkeypatch.setattr(pipeline, "verify_in_jvm", tamper_then_check)
    spec = digits_spec(quantization=QuantType.NONE)
    failed = "verification in the JVM failed: model.onnx: GOLDEN_MISMATCH"
    with pytest.raises(DistillError, match=failed):
        run(spec, tmp_path / "o", RunContext(home))
    assert not (tmp_path / "o").exists()


def test_no_classpath_means_skipped_with_the_reason_never_passed(artifact, monkeypatch):
    monkeypatch.setenv(ENV_CLASSPATH, "")
    check = verify_in_jvm(artifact)
    assert (check.status, check.max_abs_diff) == (SKIPPED, None)
    assert check.reason == f"disabled: {ENV_CLASSPATH} is set but empty"

    monkeypatch.setenv(ENV_CLASSPATH, "/nonexistent/client.jar")
    check = verify_in_jvm(artifact)
    assert check.status == SKIPPED and "/nonexistent/client.jar" in check.reason


def test_auto_detected_classpath_names_the_client_and_onnxruntime(monkeypatch):
    monkeypatch.delenv(ENV_CLASSPATH, raising=False)
    cp = find_classpath()
    assert cp.source.startswith("auto-detected")
    assert any("onnxruntime-1.29.0.jar" in e for e in cp.entries)
    assert any("gson" in e for e in cp.entries)
    assert "distill-bridge-client" in cp.entries[0] or cp.entries[0].endswith("classes")


def test_a_verified_artifact_still_matches_its_hashes_after_the_jvm_check(artifact):
    manifest = read_manifest(artifact)
    assert verify_files(artifact, manifest) == []
    assert json.dumps(manifest["verification"]["jvm"]["models"])  # plain JSON values
