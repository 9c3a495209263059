"""Training strategies on `digits`: the staged schedule (values and transitions), self-
distillation with a truncated exit that runs in ONNX Runtime, 2-process DDP on loopback, and
peak RSS per phase."""

from __future__ import annotations

import math

import numpy as np
import onnx
import pytest

from bridge.data.features import float_features
from bridge.distill import TrainData, train
from bridge.distill.teacher_cache import TeacherOutputs
from bridge.distill.trainer import learning_rate_scale
from bridge.events import ProgressEvent, StageEvent, ValidationEvent
from bridge.export.verify import ort_logits
from bridge.models import build_student
from bridge.pipeline import RunContext, run
from bridge.schedule import Schedule, Stage
from bridge.spec import (
    CnnConfig,
    DistillSpec,
    MlpConfig,
    QuantType,
    SelfDistillation,
    SpecError,
    TrainingParams,
)
from bridge.wire import spec_from_proto, spec_to_proto
from tests.conftest import FAST, digits_spec

# ---------------------------------------------------------------- schedule values


def test_progressive_preset_values_at_given_steps():
    s = Schedule.progressive()  # warm-up 20%, distill 70% (cosine), fine-tune 10%
    total = 100
    assert [st.name for st in s.stages] == ["warmup", "distill", "finetune"]
    assert [s.boundary(i, total) for i in range(3)] == [20, 90, 100]
    first = s.at(0, total)
    assert (first.stage, first.alpha, first.temperature, first.lr_scale) == ("warmup", 0, 4, 1)
    assert s.at(19, total).stage == "warmup"
    start = s.at(20, total)  # first distillation step: T 4, alpha 0.9
    assert start.stage == "distill"
    assert start.temperature == pytest.approx(4.0) and start.alpha == pytest.approx(0.9)
    end = s.at(89, total)  # last distillation step: T 1, alpha 0.5
    assert end.temperature == pytest.approx(1.0) and end.alpha == pytest.approx(0.5)
    # cosine: halfway through the stage, T is halfway; a quarter in, it has moved less than 1/4
    mid = 20 + (90 - 20 - 1) / 2
    assert s.at(math.floor(mid), total).temperature == pytest.approx(2.5, abs=0.07)
    quarter = s.at(20 + 17, total).temperature
    assert 4.0 - quarter < 0.25 * 3.0
    tail = s.at(95, total)
    assert (tail.stage, tail.alpha, tail.lr_scale) == ("finetune", 0.0, 0.1)
    assert s.at(99, total).stage == "finetune"


def test_linear_custom_and_constant_schedules():
    custom = Schedule.custom(
        Stage("hot", 0.5, 8.0, 2.0, 1.0, 0.0, anneal="linear"),
        Stage("cold", 0.5, 1.0, 1.0, 0.0, 0.0, lr_scale=0.5),
    )
    assert custom.at(0, 10).temperature == 8.0
    assert custom.at(2, 10).temperature == pytest.approx(5.0)  # 8 -> 2 over steps 0..4
    assert custom.at(4, 10).alpha == pytest.approx(0.0)
    assert custom.at(5, 10).stage == "cold" and custom.at(5, 10).lr_scale == 0.5
    const = Schedule.constant(3.0, 0.25)
    assert {(const.at(i, 7).temperature, const.at(i, 7).alpha) for i in range(7)} == {(3.0, 0.25)}
    assert TrainingParams(schedule="constant", temperature=2.0).resolved_schedule() == (
        Schedule.constant(2.0, 0.5)
    )
    assert TrainingParams().resolved_schedule() == Schedule.progressive()


def test_temperature_and_alpha_take_effect_under_the_progressive_preset():
    distill = TrainingParams(temperature=2.5, alpha=0.3).resolved_schedule().stages[1]
    assert distill.name == "distill"
    assert (distill.temperature_start, distill.temperature_end) == (2.5, 1.0)
    assert (distill.alpha_start, distill.alpha_end) == (0.3, 0.3)
    assert not TrainingParams(alpha=0.0).resolved_schedule().uses_teacher  # no distillation
    unset = TrainingParams(temperature=None, alpha=None)
    assert unset.resolved_schedule() == Schedule.progressive()  # the preset's 4->1, 0.9->0.5


@pytest.mark.parametrize("name", ["temperature", "alpha"])
def test_a_custom_schedule_refuses_temperature_and_alpha_naming_them(name):
    params = TrainingParams(schedule=Schedule.custom(Stage("kd", 1.0)), **{name: 0.5})
    with pytest.raises(SpecError) as refused:
        params.validate()
    assert refused.value.field == f"training.{name}"


def test_two_alphas_under_the_default_schedule_give_different_students(tmp_path, home):
    """alpha 0 (no distillation) and alpha 0.9 used to train the very same student."""
    outputs = {}
    for alpha in (0.0, 0.9):
        params = TrainingParams(epochs=2, batch_size=64, learning_rate=5e-3, seed=3, alpha=alpha)
        spec = digits_spec(training=params, quantization=QuantType.NONE)
        result = run(spec, tmp_path / f"alpha-{alpha}", RunContext(home=home))
        outputs[alpha] = np.asarray(result.manifest["golden_vectors"]["model.onnx"]["output"])
    assert not np.allclose(outputs[0.0], outputs[0.9], atol=1e-4)


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        (Schedule.custom(Stage("a", 0.5), Stage("b", 0.4)), "training.schedule.stages"),
        (
            Schedule.custom(Stage("a", 1.0, alpha_start=1.5)),
            "training.schedule.stages[0].alpha_start",
        ),
        (Schedule.custom(Stage("a", 1.0, anneal="step")), "training.schedule.stages[0].anneal"),
        (Schedule.custom(), "training.schedule.stages"),
        ("warp", "training.schedule"),
    ],
)
def test_bad_schedules_name_the_field(schedule, field):
    with pytest.raises(SpecError) as err:
        digits_spec(training=TrainingParams(schedule=schedule)).validate()
    assert err.value.field == field


def test_schedules_and_self_distillation_survive_the_wire():
    custom = Schedule.custom(
        Stage("warm", 0.3, 4.0, 4.0, 0.0, 0.0),
        Stage("kd", 0.7, 6.0, 1.5, 0.8, 0.2, anneal="cosine", lr_scale=0.5),
    )
    for schedule in (custom, Schedule.progressive(), "constant", "progressive"):
        spec = digits_spec(training=TrainingParams(schedule=schedule, workers=2))
        assert spec_from_proto(spec_to_proto(spec)) == spec
    spec = digits_spec(
        teacher="self", student=MlpConfig((32, 16)), self_distillation=SelfDistillation(1, 0.5)
    )
    assert spec_from_proto(spec_to_proto(spec)) == spec
    # an empty preset name on the wire means the default: progressive
    msg = spec_to_proto(digits_spec())
    msg.training.schedule = ""
    assert spec_from_proto(msg).training.resolved_schedule() == Schedule.progressive()


# ---------------------------------------------------------------- stage transitions in training


def test_training_announces_each_stage_at_its_step_and_skips_the_teacher_outside_kd(digits):
    student = build_student(MlpConfig((16,)), digits)
    splits = {n: float_features(getattr(digits, n)) for n in ("train", "val")}
    reads: list[int] = []

    class CountingLogits(np.ndarray):
        def __getitem__(self, idx):  # counts reads of teacher rows
            reads.append(1)
            return np.asarray(self).__getitem__(idx)

    logits = np.zeros((len(digits.train.y), 10), np.float32).view(CountingLogits)
    events = []
    params = TrainingParams(epochs=5, batch_size=64, learning_rate=5e-3, seed=1)
    train(
        student,
        TrainData(splits["train"], digits.train.y, TeacherOutputs(logits)),
        TrainData(splits["val"], digits.val.y),
        params,
        events.append,
    )
    steps_per_epoch = math.ceil(len(digits.train.y) / 64)
    total = 5 * steps_per_epoch
    stages = [e for e in events if isinstance(e, StageEvent)]
    assert [e.stage for e in stages] == ["train.warmup", "train.distill", "train.finetune"]
    bounds = [Schedule.progressive().boundary(i, total) for i in range(3)]
    assert f"steps 0..{bounds[0] - 1} of {total}" in stages[0].message
    assert f"steps {bounds[0]}..{bounds[1] - 1}" in stages[1].message
    assert "hard labels only" in stages[2].message and "learning rate x0.1" in stages[2].message
    assert len(reads) == bounds[1] - bounds[0]  # the teacher is read in KD steps only
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    last_kd = [e for e in progress if e.alpha > 0][-1]
    finetune = [e for e in progress if e.alpha == 0 and e.epoch == 5]
    assert finetune and finetune[-1].learning_rate < 0.1 * last_kd.learning_rate
    assert [e.epoch for e in events if isinstance(e, ValidationEvent)] == [1, 2, 3, 4, 5]
    # the base rate holds through the first 70% of steps (epochs 1-3 of 5), then decays
    held = [e.learning_rate for e in progress if e.epoch <= 3]
    assert held and all(lr == pytest.approx(5e-3) for lr in held)
    assert [e for e in progress if e.epoch == 4][-1].learning_rate < 5e-3


def test_the_learning_rate_holds_then_decays_to_zero():
    total = 1000
    assert [learning_rate_scale(s, total) for s in (0, 350, 700)] == [1.0, 1.0, 1.0]
    assert learning_rate_scale(850, total) == pytest.approx(0.5)  # half-way through the decay
    assert learning_rate_scale(total, total) == pytest.approx(0.0)
    decay = [learning_rate_scale(s, total) for s in range(700, total + 1)]
    assert all(a >= b for a, b in zip(decay, decay[1:], strict=False))


# ---------------------------------------------------------------- self-distillation


@pytest.mark.parametrize(
    ("student", "ship"), [(MlpConfig((64, 32)), 1), (CnnConfig((8, 16)), 1)], ids=["mlp", "cnn"]
)
def test_self_distillation_ships_a_truncated_exit_that_runs_in_ort(
    student, ship, home, tmp_path, digits
):
    spec = DistillSpec(
        teacher="self",
        student=student,
        dataset=digits_spec().dataset,
        training=TrainingParams(epochs=6, batch_size=64, learning_rate=5e-3, seed=3),
        quantization=QuantType.INT8,
        self_distillation=SelfDistillation(ship_exit=ship),
    )
    events = []
    result = run(spec, tmp_path / "a", RunContext(home=home), events.append)
    m = result.metrics
    assert "teacher_cache_hit" not in m  # no external teacher ran
    assert m["teacher_accuracy"] == m["exit_2_accuracy"]  # the deepest exit is the teacher
    assert m["exit_1_accuracy"] > 0.8 and m["student_accuracy"] == pytest.approx(
        m["exit_1_accuracy"]
    )
    assert m["student_parameters"] < m["full_student_parameters"]
    assert m["compression_ratio"] > 1.0
    graph = onnx.load(str(result.artifact_dir / "model.onnx")).graph
    kinds = [n.op_type for n in graph.node]
    if isinstance(student, CnnConfig):  # one conv block of two, and its exit
        assert kinds.count("Conv") == 1
    else:  # one hidden layer of two, and its exit (the full model has 3 Gemm)
        assert kinds.count("Gemm") == 2
    logits = ort_logits(result.artifact_dir / "model.int8.onnx", float_features(digits.test))
    assert logits.shape == (len(digits.test.y), 10)
    assert result.manifest["teacher"]["reference"] == "self"
    assert sorted(p.name for p in result.artifact_dir.iterdir()) == [
        "manifest.json",
        "model.int8.onnx",
        "model.onnx",
        "report",
    ]


def test_ship_exit_must_leave_a_shallower_model():
    with pytest.raises(SpecError) as err:
        digits_spec(
            teacher="self",
            student=MlpConfig((32, 16)),
            self_distillation=SelfDistillation(ship_exit=2),
        ).validate()
    assert err.value.field == "self_distillation.ship_exit"


# ---------------------------------------------------------------- DDP and memory


def test_two_ddp_workers_on_loopback_match_one_worker(home, tmp_path):
    one = run(digits_spec(quantization=QuantType.NONE), tmp_path / "one", RunContext(home=home))
    events = []
    spec = digits_spec(quantization=QuantType.NONE, training=_with(FAST, workers=2))
    two = run(spec, tmp_path / "two", RunContext(home=home), events.append)
    assert abs(two.metrics["student_accuracy"] - one.metrics["student_accuracy"]) <= 0.03
    assert two.metrics["student_accuracy"] > 0.85
    assert [e.epoch for e in events if isinstance(e, ValidationEvent)] == [1, 2, 3, 4]
    stages = [e.stage for e in events if isinstance(e, StageEvent)]
    assert stages.count("train.distill") == 1  # rank 0 only, forwarded live
    assert two.manifest["training"]["workers"] == 2
    assert not list(tmp_path.glob("*.ddp"))  # the job directory is cleaned up


def test_peak_rss_is_reported_per_phase(home, tmp_path):
    m = run(digits_spec(), tmp_path / "a", RunContext(home=home)).metrics
    for phase in ("load", "preflight", "prepare", "teacher", "train", "export"):
        assert m[f"peak_rss_{phase}_mb"] > 50  # a Python process with torch loaded


def _with(params: TrainingParams, **changes) -> TrainingParams:
    from dataclasses import replace

    return replace(params, **changes)


def test_training_device_follows_the_environment(monkeypatch):
    import torch

    from bridge.distill.trainer import DEVICE_ENV, ddp_backend, training_device
    from bridge.errors import DistillError

    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert training_device() == torch.device("cpu")
    assert ddp_backend(training_device()) == "gloo"
    assert ddp_backend(torch.device("cuda", 1)) == "nccl"
    monkeypatch.setenv(DEVICE_ENV, "tpu")
    with pytest.raises(DistillError, match="must be auto, cpu or cuda, got 'tpu'"):
        training_device()
    monkeypatch.setenv(DEVICE_ENV, "cuda")
    monkeypatch.setenv("LOCAL_RANK", "1")
    if torch.cuda.is_available():
        assert training_device() == torch.device("cuda", 1 % torch.cuda.device_count())
    else:
        with pytest.raises(DistillError, match="no usable CUDA device"):
            training_device()
