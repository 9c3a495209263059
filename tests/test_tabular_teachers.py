"""Teachers as tabular teams have them: scikit-learn and LightGBM classifiers converted to ONNX
by their usual converters (skl2onnx, onnxmltools), with a `label` output beside probabilities
(a tensor, or a ZipMap of one {class: p} map per row). The bridge picks the class-scoring
output by shape, or takes the one the user names (`teacher.output`), and distills from its
log-probabilities."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from bridge.data import load_dataset
from bridge.models.teachers import OnnxTeacher
from bridge.pipeline import RunContext, run
from bridge.spec import Dataset, DistillSpec, MlpConfig, QuantType, SpecError, TrainingParams

PARAMS = TrainingParams(epochs=6, batch_size=64, learning_rate=5e-3, seed=1)


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory) -> Path:
    """The 8x8 digits as a tabular file: 64 pixel columns and a label."""
    x, y = load_digits(return_X_y=True)
    path = tmp_path_factory.mktemp("tabular") / "digits.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"p{i}" for i in range(64)] + ["label"])
        writer.writerows([*map(float, row), int(label)] for row, label in zip(x, y, strict=True))
    return path


@pytest.fixture(scope="module")
def split(digits_csv):
    """The bridge's own split of the file: teachers train on its training rows only."""
    return load_dataset(Dataset.from_path(str(digits_csv)), None)


def _sklearn(split, tmp_path: Path, zipmap: bool) -> tuple[Path, float]:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=500).fit(split.train.x, split.train.y)
    path = tmp_path / f"logreg-zipmap-{zipmap}.onnx"
    path.write_bytes(
        to_onnx(model, split.train.x[:1], options={"zipmap": zipmap}).SerializeToString()
    )
    return path, float((model.predict(split.test.x) == split.test.y).mean())


def _lightgbm(split, tmp_path: Path) -> tuple[Path, float]:
    import lightgbm
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    model = lightgbm.LGBMClassifier(n_estimators=40, verbose=-1).fit(split.train.x, split.train.y)
    onx = onnxmltools.convert_lightgbm(
        model, initial_types=[("input", FloatTensorType([None, 64]))], zipmap=True
    )
    path = tmp_path / "lightgbm.onnx"
    path.write_bytes(onx.SerializeToString())
    return path, float((model.predict(split.test.x) == split.test.y).mean())


@pytest.mark.parametrize("teacher", ["sklearn-tensor", "sklearn-zipmap", "lightgbm-zipmap"])
def test_a_converted_tabular_teacher_is_distilled(teacher, split, digits_csv, tmp_path, home):
    if teacher == "lightgbm-zipmap":
        path, own_accuracy = _lightgbm(split, tmp_path)
    else:
        path, own_accuracy = _sklearn(split, tmp_path, zipmap=teacher.endswith("zipmap"))
    spec = DistillSpec(
        teacher=str(path),
        student=MlpConfig((64,)),
        dataset=Dataset.from_path(str(digits_csv)),
        training=PARAMS,
        quantization=QuantType.INT8,
    )
    result = run(spec, tmp_path / "artifact", RunContext(home=home))
    # the teacher's argmax over the chosen output is the converted model's own prediction
    assert result.metrics["teacher_accuracy"] == pytest.approx(own_accuracy, abs=1e-9)
    assert result.manifest["teacher"]["output_used_as"] == "log of probabilities"
    assert result.metrics["student_int8_accuracy"] > 0.85


def test_an_onnx_model_with_only_a_label_output_is_refused_naming_its_outputs(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ArgMax", ["x"], ["label"], axis=1, keepdims=0)],
        "labels-only",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path = tmp_path / "labels.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(SpecError, match="no output that scores every class.*label"):
        OnnxTeacher("labels.onnx", path)


def test_zipmap_rows_follow_the_class_order():
    from bridge.models.teachers import zipmap_to_array

    rows = [{2: 0.1, 0: 0.7, 1: 0.2}, {0: 0.0, 1: 0.0, 2: 1.0}]
    expected = np.array([[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]], np.float32)
    np.testing.assert_allclose(zipmap_to_array(rows), expected)


# ---------------------------------------------------------------- an output the user names


def _logits(teacher: OnnxTeacher, split) -> np.ndarray:
    from bridge.data.features import float_features

    return np.concatenate([out["logits"] for _, out in teacher.outputs(float_features(split))])


@pytest.mark.parametrize(
    ("zipmap", "name"), [(False, "probabilities"), (True, "output_probability")]
)
def test_naming_the_probabilities_output_teaches_as_the_automatic_choice(
    zipmap, name, split, tmp_path
):
    path, _ = _sklearn(split, tmp_path, zipmap=zipmap)
    automatic, named = OnnxTeacher("t", path), OnnxTeacher("t", path, name)
    np.testing.assert_array_equal(_logits(named, split.test), _logits(automatic, split.test))
    assert named.describe()["output"] == automatic.describe()["output"] == name
    assert named.describe()["output_used_as"] == "log of probabilities"
    assert named.describe()["output_chosen_by"] == "user"
    assert automatic.describe()["output_chosen_by"] == "shape"


def test_a_named_output_replaces_the_automatic_choice_and_reaches_the_manifest(
    split, tmp_path, home
):
    """A graph with `logits` and `probabilities`: the bridge picks logits; naming
    probabilities uses them (as log-probabilities), and the teacher's manifest entry says so."""
    from bridge.events import ignore_events
    from bridge.models import resolve_teacher
    from bridge.spec import TeacherPreparation
    from bridge.teacher_prep import prepare_teacher
    from tests.spec_fields import tabular_onnx_classifier

    path = tmp_path / "two-outputs.onnx"
    path.write_bytes(tabular_onnx_classifier(64, 10))
    ref = Dataset.from_path("digits.csv")
    automatic = prepare_teacher(
        resolve_teacher(str(path), ref, None), split, TeacherPreparation(), home, ignore_events
    )
    named = prepare_teacher(
        resolve_teacher(str(path), ref, None, output="probabilities"),
        split,
        TeacherPreparation(),
        home,
        ignore_events,
    )
    assert automatic.info["output"] == "logits" and automatic.info["output_used_as"] == "logits"
    assert named.info["output"] == "probabilities"
    assert named.info["output_used_as"] == "log of probabilities"
    assert named.info["output_chosen_by"] == "user"
    assert named.identity != automatic.identity  # other outputs, cached apart
    logits, log_probs = _logits(automatic.load(), split.test), _logits(named.load(), split.test)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    assert np.ptp(log_softmax, axis=1).min() > 0.1  # the classes differ: a real comparison
    expected = np.maximum(log_softmax, np.log(1e-7))  # probabilities are clipped at 1e-7
    np.testing.assert_allclose(log_probs, expected, rtol=1e-4, atol=1e-4)


def test_a_named_output_the_model_does_not_have_is_refused_listing_its_outputs(split, tmp_path):
    from bridge.models import resolve_teacher

    path, _ = _sklearn(split, tmp_path, zipmap=False)
    for refuse in (
        lambda: OnnxTeacher("t", path, "probs"),
        lambda: resolve_teacher(str(path), Dataset.from_path("d.csv"), None, output="probs"),
    ):
        with pytest.raises(
            SpecError, match="no output 'probs'; its outputs: label, probabilities"
        ) as e:
            refuse()
        assert e.value.field == "teacher.output" and e.value.code == "INVALID_ARGUMENT"


def test_naming_the_label_output_is_refused_it_cannot_teach(split, tmp_path):
    path, _ = _sklearn(split, tmp_path, zipmap=False)
    with pytest.raises(SpecError, match="'label' is a tensor of int64, rank 1, which cannot teach"):
        OnnxTeacher("t", path, "label")


def test_a_named_output_on_a_teacher_that_is_not_an_onnx_file_is_refused(tmp_path):
    from bridge.models import resolve_teacher

    script = tmp_path / "t.pt"
    script.write_bytes(b"not loaded: refused before")
    for reference, dataset, kind in (
        ("digits-mlp", Dataset.builtin("digits"), "a zoo teacher"),
        (str(script), Dataset.from_path("d.csv"), "a TorchScript file"),
    ):
        with pytest.raises(SpecError, match=f"is {kind}") as refused:
            resolve_teacher(reference, dataset, None, output="probabilities")
        assert refused.value.field == "teacher.output"
