import math

import pytest

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.spec import (
    CnnConfig,
    Dataset,
    DistillSpec,
    Gates,
    MlpConfig,
    QuantType,
    SpecError,
    TeacherPreparation,
    TrainingParams,
    TransformerConfig,
)
from bridge.wire import spec_from_proto, spec_to_proto
from tests.conftest import digits_spec


def test_round_trip_through_proto_keeps_every_field():
    spec = DistillSpec(
        teacher="digits-cnn",
        student=CnnConfig((8, 16), 5),
        dataset=Dataset.from_path("data/x.csv", label_column="y", split_column="part"),
        training=TrainingParams(
            epochs=7, batch_size=16, learning_rate=0.02, temperature=2.5, alpha=0.0, seed=11
        ),
        quantization=QuantType.INT8,
        gates=Gates(max_parity_error=1e-3, min_retention=0.9),
        name="n",
        teacher_output="probabilities",
    )
    assert spec_from_proto(spec_to_proto(spec)) == spec


def test_unset_optional_fields_take_defaults_but_explicit_zero_alpha_is_kept():
    msg = spec_to_proto(digits_spec())
    msg.training.ClearField("epochs")
    msg.training.alpha = 0.0
    spec = spec_from_proto(msg)
    assert spec.training.epochs == TrainingParams().epochs
    assert spec.training.alpha == 0.0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (dict(training=TrainingParams(epochs=-1)), "training.epochs"),
        (dict(training=TrainingParams(epochs=0)), "training.epochs"),
        (dict(training=TrainingParams(batch_size=0)), "training.batch_size"),
        (dict(training=TrainingParams(learning_rate=math.nan)), "training.learning_rate"),
        (dict(training=TrainingParams(learning_rate=-1.0)), "training.learning_rate"),
        (dict(training=TrainingParams(temperature=0.0)), "training.temperature"),
        (dict(training=TrainingParams(alpha=1.5)), "training.alpha"),
        (dict(training=TrainingParams(schedule="progressive-typo")), "training.schedule"),
        (dict(training=TrainingParams(workers=0)), "training.workers"),
        (dict(training=TrainingParams(workers=65)), "training.workers"),
        (dict(training=TrainingParams(workers=4, batch_size=2)), "training.batch_size"),
        (dict(student=MlpConfig(())), "student.mlp.hidden_sizes"),
        (dict(student=MlpConfig((32, 0))), "student.mlp.hidden_sizes[1]"),
        (dict(student=CnnConfig(())), "student.cnn.channels"),
        (dict(student=CnnConfig((8,), 4)), "student.cnn.kernel_size"),
        (dict(student=TransformerConfig(hidden_size=100, heads=12)), "student.transformer.heads"),
        (dict(student=TransformerConfig(layers=0)), "student.transformer.layers"),
        (dict(training=TrainingParams(layer_map=(3, 2))), "training.layer_map"),
        (dict(training=TrainingParams(hidden_weight=-1.0)), "training.hidden_weight"),
        (dict(teacher_preparation=TeacherPreparation(epochs=0)), "teacher.preparation.epochs"),
        (dict(teacher=""), "teacher.reference"),
        (dict(dataset=Dataset()), "dataset"),
        (dict(gates=Gates(max_parity_error=0.0)), "gates.max_parity_error"),
        (dict(teacher="self", teacher_output="probabilities"), "teacher.output"),
        (dict(teacher_output=3), "teacher.output"),
        (
            dict(dataset=Dataset.from_path("a.csv", test_path="t.csv", split_column="s")),
            "dataset.split_column",
        ),
        (dict(dataset=Dataset(name="digits", split_column="s")), "dataset.split_column"),
    ],
)
def test_validation_names_the_bad_field(change, field):
    with pytest.raises(SpecError) as err:
        digits_spec(**change).validate()
    assert err.value.field == field
    assert str(err.value).startswith(field + ":")
    assert err.value.code == "INVALID_ARGUMENT"


def test_proto_without_student_is_rejected():
    msg = spec_to_proto(digits_spec())
    msg.ClearField("student")
    with pytest.raises(SpecError, match="student"):
        spec_from_proto(msg)


def test_unknown_quantization_enum_value_is_rejected():
    msg = spec_to_proto(digits_spec())
    msg.quantization = 42
    with pytest.raises(SpecError, match="quantization"):
        spec_from_proto(msg)


def test_proto_enum_values_are_stable():
    # Java and Python stubs both depend on these numbers on the wire.
    assert pb.QUANT_TYPE_INT8 == 1
    assert pb.JOB_STATE_SUCCEEDED == 3
