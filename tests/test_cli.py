"""The CLI's exit codes: 0 ok, 1 failed check, 2 bad input naming the field."""

import json
import re
import shutil

from bridge.cli import main
from bridge.pipeline import RunContext, run
from tests.conftest import digits_spec


def test_distill_with_bad_input_exits_2_naming_the_field(tmp_path, capsys):
    code = main(
        [
            "distill",
            "--teacher",
            "digits-mlp",
            "--dataset",
            "digits",
            "--mlp",
            "16",
            "--epochs",
            "-2",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    assert "training.epochs" in capsys.readouterr().err
    assert (
        main(
            [
                "distill",
                "--teacher",
                "digits-mlp",
                "--dataset",
                "digits",
                "--mlp",
                "a,b",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )


def _digits_config(path, **fields) -> str:
    """A job file (the proto's JSON mapping of DistillSpec) for a digits MLP, plus `fields`."""
    spec = {
        "teacher": {"reference": "digits-mlp"},
        "dataset": {"builtin": "digits"},
        "student": {"mlp": {"hiddenSizes": [16]}},
        **fields,
    }
    path.write_text(json.dumps(spec))
    return str(path)


def test_local_distill_from_a_config_file(tmp_path, home, monkeypatch, capsys):
    """A flag given on the command line overrides the file; the rest of the file holds."""
    monkeypatch.setenv("DISTILL_BRIDGE_HOME", str(home))
    config = _digits_config(
        tmp_path / "job.json",
        quantization="QUANT_TYPE_INT8",
        training={"epochs": 9, "learningRate": 0.01},
    )
    argv = ["distill", "--config", config, "--epochs", "2", "--out", str(tmp_path / "art")]
    assert main([*argv, "--teacher-cache-budget", "disk=5MB,resident=1MB"]) == 0
    assert (tmp_path / "art" / "model.int8.onnx").is_file()
    out = capsys.readouterr().out
    assert "student_int8_accuracy" in out
    assert re.search(r"teacher_cache_budget_bytes\s+5e\+06\n", out)  # the local run's budget
    manifest = json.loads((tmp_path / "art" / "manifest.json").read_text())
    assert manifest["training"]["epochs"] == 2 and manifest["training"]["learning_rate"] == 0.01
    assert manifest["teacher_cache"]["budget"].startswith("disk 5.0 MB, resident 1.0 MB")


def test_a_config_gate_takes_effect(tmp_path, home, monkeypatch, capsys):
    """gates.minRetention from the file is enforced (it used to be dropped): 1.5 cannot pass."""
    monkeypatch.setenv("DISTILL_BRIDGE_HOME", str(home))
    config = _digits_config(
        tmp_path / "job.json",
        training={"epochs": 2, "learningRate": 0.01},
        gates={"minRetention": 1.5},
    )
    assert main(["distill", "--config", config, "--out", str(tmp_path / "art")]) == 1
    assert "min_retention" in capsys.readouterr().err
    assert not (tmp_path / "art").exists()


def test_inspect_passes_intact_and_fails_tampered_artifacts(tmp_path, home, capsys):
    result = run(digits_spec(), tmp_path / "a", RunContext(home=home))
    assert main(["inspect", str(result.artifact_dir)]) == 0
    tampered = tmp_path / "t"
    shutil.copytree(result.artifact_dir, tampered)
    manifest = json.loads((tampered / "manifest.json").read_text())
    manifest["golden_vectors"]["model.onnx"]["output"][0] += 0.5
    (tampered / "manifest.json").write_text(json.dumps(manifest))
    assert main(["inspect", str(tampered)]) == 1
    data = bytearray((tampered / "model.int8.onnx").read_bytes())
    data[-10] ^= 0xFF
    (tampered / "model.int8.onnx").write_bytes(bytes(data))
    assert main(["inspect", str(tampered)]) == 1
    err = capsys.readouterr().err
    assert "golden vectors differ" in err and "model.int8.onnx: SHA-256 mismatch" in err
    assert main(["inspect", str(tmp_path / "nothing")]) == 2
