"""The engine end to end on `digits`: real training, export, INT8, verification, artifact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from bridge.data.features import float_features
from bridge.errors import DistillError, GateError
from bridge.events import ProgressEvent, StageEvent, ValidationEvent
from bridge.export.manifest import read_manifest, verify_files
from bridge.export.verify import max_abs_diff, operator_report, ort_logits, session
from bridge.models.builders import mlp, with_normalization
from bridge.pipeline import RunContext, run
from bridge.spec import CnnConfig, Gates, MlpConfig, QuantType, SpecError
from tests.conftest import FAST, digits_spec


@pytest.fixture(scope="module")
def mlp_run(home, tmp_path_factory):
    events = []
    out = tmp_path_factory.mktemp("run") / "artifact"
    result = run(digits_spec(), out, RunContext(home=home, job_id="job-test"), events.append)
    return result, events


def test_artifact_has_models_manifest_and_intact_hashes(mlp_run):
    result, _ = mlp_run
    names = sorted(p.name for p in result.artifact_dir.iterdir())
    assert names == ["manifest.json", "model.int8.onnx", "model.onnx", "report"]
    manifest = read_manifest(result.artifact_dir)
    assert verify_files(result.artifact_dir, manifest) == []
    assert set(manifest["files"]) == {"model.onnx", "model.int8.onnx"}
    assert manifest["models"] == {"fp32": "model.onnx", "int8": "model.int8.onnx"}
    assert manifest["input"]["shape"] == [-1, 1, 8, 8]
    assert manifest["labels"] == [str(i) for i in range(10)]
    assert manifest["teacher"]["reference"] == "digits-mlp"
    assert len(manifest["teacher"]["sha256"]) == 64
    assert manifest["quantization"]["op_types"] == ["MatMul", "Gemm"]


def test_report_plots_the_curves_and_tabulates_the_metrics(mlp_run):
    result, _ = mlp_run
    manifest = read_manifest(result.artifact_dir)
    report = manifest["report"]
    assert set(report["files"]) == {"report/report.md", "report/loss_curves.png"}
    png = (result.artifact_dir / report["loss_curves"]).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000  # a drawn figure, not a stub
    text = (result.artifact_dir / report["markdown"]).read_text()
    m = manifest["metrics"]
    assert f"| student accuracy (INT8 ONNX) | {m['student_int8_accuracy']:.4f} |" in text
    assert f"| teacher accuracy | {m['teacher_accuracy']:.4f} |" in text
    assert "| `max_int8_accuracy_drop` |" in text and "![training curves](loss_curves.png)" in text
    assert all(f"| {p} |" in text for p in ("load", "train", "export"))  # peak RSS per phase
    # one validation row per epoch, naming the schedule stages that ran in it
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line[:3] == "| 1"}
    last = next(line for line in text.splitlines() if line.startswith(f"| {FAST.epochs} |"))
    assert "warmup" in rows["1"] and "finetune" in last


def test_golden_vectors_replay_in_onnx_runtime(mlp_run):
    result, _ = mlp_run
    for name, gv in result.manifest["golden_vectors"].items():
        x = np.asarray(gv["input"], dtype=np.float32).reshape(gv["input_shape"])
        want = np.asarray(gv["output"]).reshape(gv["output_shape"])
        got = session(result.artifact_dir / name).run(None, {"input": x})[0]
        assert max_abs_diff(got, want) <= gv["atol"]


def test_model_takes_raw_pixels_with_dynamic_batch_and_carries_metadata(mlp_run, digits):
    result, _ = mlp_run
    model = onnx.load(str(result.artifact_dir / "model.onnx"))
    dim0 = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim0.dim_param  # symbolic batch axis
    assert model.opset_import[0].version == 18
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["distillbridge.job_id"] == "job-test"
    assert json.loads(meta["distillbridge.labels"]) == result.manifest["labels"]
    # raw inputs in, sensible predictions out: normalisation is inside the graph
    for batch in (1, 7, 269):
        logits = ort_logits(
            result.artifact_dir / "model.int8.onnx", float_features(digits.test).head(batch)
        )
        assert logits.shape == (batch, 10)
    acc = (
        ort_logits(result.artifact_dir / "model.onnx", float_features(digits.test)).argmax(1)
        == digits.test.y
    ).mean()
    assert acc == pytest.approx(result.metrics["student_accuracy"])
    assert "Conv" not in {o["op_type"] for o in operator_report(result.artifact_dir / "model.onnx")}


def test_metrics_compare_teacher_and_student(mlp_run):
    m = mlp_run[0].metrics
    assert m["teacher_accuracy"] > 0.9
    assert m["student_int8_accuracy"] > 0.8
    assert m["parity_max_abs_diff"] <= 1e-4
    assert m["teacher_parameters"] > 10 * m["student_parameters"]
    assert m["compression_ratio"] > 10
    assert m["retention_pct"] == pytest.approx(
        100 * m["student_int8_accuracy"] / m["teacher_accuracy"]
    )
    # beside them: the majority-class baseline (digits: 10 balanced classes) and how far the
    # retention could move on another draw of the 269 test rows
    assert m["majority_baseline_accuracy"] == pytest.approx(0.1, abs=0.01)
    assert m["retention_ci_low_pct"] <= m["retention_pct"] <= m["retention_ci_high_pct"]
    done = [e.message for e in mlp_run[1] if isinstance(e, StageEvent) and e.stage == "done"]
    assert "% retained, 95% CI " in done[0] and "majority-class baseline 0.10" in done[0]
    for key in ("student_latency_ms", "student_int8_latency_ms", "teacher_latency_ms"):
        assert m[key] > 0


def test_events_report_stages_progress_and_validation_in_order(mlp_run):
    _, events = mlp_run
    stages = [e.stage for e in events if isinstance(e, StageEvent)]
    assert any("teacher outputs" in getattr(e, "message", "") for e in events)
    assert stages == [
        "load",
        "preflight",
        "teacher",
        "train",
        "train.warmup",
        "train.distill",
        "train.finetune",
        "export",
        "verify",
        "quantize",
        "measure",
        "operators",
        "jvm",
        "done",
    ]
    epochs = [e.epoch for e in events if isinstance(e, ValidationEvent)]
    assert epochs == [1, 2, 3, 4]
    # the default progressive schedule: hard labels first, then annealed KD, then no teacher
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    assert progress[0].alpha == 0.0 and progress[-1].alpha == 0.0
    distilling = [e for e in progress if e.alpha > 0]
    assert distilling and all(1.0 <= e.temperature <= 4.0 for e in distilling)
    assert distilling[0].temperature > distilling[-1].temperature


def test_every_model_lists_its_operators_and_ort_cpu_runs_them_all(mlp_run):
    manifest = mlp_run[0].manifest
    assert set(manifest["operators"]) == {"model.onnx", "model.int8.onnx"}
    for ops in manifest["operators"].values():
        assert ops and all(o["cpu"] and o["cpu_via"] == "kernel" for o in ops)
        assert all(o["domain"] == "ai.onnx" and o["opset"] == 18 for o in ops)
    fp32 = {o["op_type"]: o for o in manifest["operators"]["model.onnx"]}
    assert fp32["Gemm"]["since_version"] == 13 and fp32["Gemm"]["count"] >= 1
    assert "MatMulInteger" in {o["op_type"] for o in manifest["operators"]["model.int8.onnx"]}


def test_verification_records_preflight_and_every_gate(mlp_run):
    verification = mlp_run[0].manifest["verification"]
    pre = verification["preflight"]
    assert [shape[0] for shape in pre["shapes"]] == [1, 3, 17]
    assert 0 <= pre["parity_max_abs_diff"] <= 1e-4
    assert {o["op_type"] for o in pre["operators"]} >= {"Gemm", "Relu"}
    gates = {g["gate"]: g for g in verification["gates"]}
    assert set(gates) == {"max_parity_error", "max_int8_accuracy_drop"}
    assert all(g["passed"] for g in gates.values())
    assert gates["max_parity_error"]["limit"] == 1e-4
    assert gates["max_parity_error"]["measured"] == mlp_run[0].metrics["parity_max_abs_diff"]


def test_the_java_clients_own_loader_verified_the_artifact_in_a_jvm(mlp_run):
    """`make setup` builds java-client/client/target/classpath.txt, so a JVM check really runs
    here."""
    result, _ = mlp_run
    jvm = result.manifest["verification"]["jvm"]
    assert jvm["status"] == "passed", jvm["reason"]
    assert set(jvm["models"]) == {"model.onnx", "model.int8.onnx"}
    assert jvm["java_version"].startswith("17")
    assert jvm["onnxruntime_java_version"] == "1.29.0"
    assert 0 <= result.metrics["jvm_parity_max_abs_diff"] <= 1e-5
    assert result.metrics["jvm_parity_max_abs_diff"] == jvm["max_abs_diff"]
    on_disk = read_manifest(result.artifact_dir)
    assert on_disk["metrics"]["jvm_parity_max_abs_diff"] == jvm["max_abs_diff"]
    assert verify_files(result.artifact_dir, on_disk) == []


def test_same_seed_gives_the_same_student(home, tmp_path):
    a = run(digits_spec(quantization=QuantType.NONE), tmp_path / "a", RunContext(home=home))
    b = run(digits_spec(quantization=QuantType.NONE), tmp_path / "b", RunContext(home=home))
    assert a.metrics["student_accuracy"] == b.metrics["student_accuracy"]
    assert a.manifest["golden_vectors"] == b.manifest["golden_vectors"]


def test_cnn_teacher_into_mlp_student(home, tmp_path):
    spec = digits_spec(teacher="digits-cnn", student=MlpConfig((48,)))
    result = run(spec, tmp_path / "a", RunContext(home=home))
    assert result.manifest["teacher"]["architecture"] == "cnn"
    assert result.manifest["student"]["architecture"] == "mlp"
    assert result.metrics["student_int8_accuracy"] > 0.8


def test_cnn_student_keeps_convolutions_fp32_in_int8(home, tmp_path):
    spec = digits_spec(student=CnnConfig((8, 16)))
    result = run(spec, tmp_path / "a", RunContext(home=home))
    ops = {o["op_type"] for o in operator_report(result.artifact_dir / "model.int8.onnx")}
    assert "Conv" in ops and "ConvInteger" not in ops
    assert "MatMulInteger" in ops or "DynamicQuantizeLinear" in ops
    assert result.metrics["student_int8_accuracy"] > 0.7


def _user_teacher(digits, path: Path) -> torch.nn.Module:
    torch.manual_seed(0)
    model = with_normalization(mlp(digits.input_shape, (64,), 10), *digits.normalization())
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    x, y = torch.from_numpy(digits.train.x), torch.from_numpy(digits.train.y)
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


def test_torchscript_and_onnx_teacher_files(home, tmp_path, digits):
    model = _user_teacher(digits, tmp_path)
    with pytest.warns(FutureWarning):
        torch.jit.script(model).save(str(tmp_path / "teacher.pt"))
    from bridge.export.onnx_export import export_onnx

    export_onnx(model, float_features(digits.test), tmp_path / "teacher.onnx")
    for name in ("teacher.pt", "teacher.onnx"):
        spec = digits_spec(teacher=str(tmp_path / name))
        result = run(spec, tmp_path / f"out-{name}", RunContext(home=home))
        assert result.manifest["teacher"]["file"] == name
        assert result.metrics["teacher_accuracy"] > 0.85
        assert result.metrics["student_int8_accuracy"] > 0.75


def test_teacher_with_wrong_class_count_is_refused(home, tmp_path, digits):
    model = with_normalization(mlp(digits.input_shape, (8,), 3), *digits.normalization()).eval()
    from bridge.export.onnx_export import export_onnx

    export_onnx(model, float_features(digits.test), tmp_path / "three.onnx")
    with pytest.raises(SpecError, match="teacher predicts 3 classes but dataset 'digits' has 10"):
        run(digits_spec(teacher=str(tmp_path / "three.onnx")), tmp_path / "o", RunContext(home))
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.partial").exists()


def test_parity_gate_failure_names_gate_and_numbers(home, tmp_path, monkeypatch):
    import bridge.pipeline as pipeline

    real = pipeline.ort_logits
    monkeypatch.setattr(pipeline, "ort_logits", lambda path, x: real(path, x) + 1e-3)
    with pytest.raises(GateError, match=r"gate max_parity_error failed: measured 0\.001"):
        run(digits_spec(gates=Gates(max_parity_error=1e-4)), tmp_path / "o", RunContext(home))
    assert not (tmp_path / "o").exists()


def test_existing_artifact_directory_is_never_overwritten(home, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DistillError, match="already exists"):
        run(digits_spec(), out, RunContext(home))
    assert (out / "keep.txt").read_text() == "mine"


def test_a_job_without_text_never_imports_transformers():
    """Every job worker imports the pipeline; `transformers` (seconds to import) is loaded only
    by jobs that read text."""
    import subprocess
    import sys

    probe = (
        "import sys, bridge.pipeline, bridge.server.worker, bridge.cli;"
        "print(sorted(m for m in ('transformers', 'torch._dynamo') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
