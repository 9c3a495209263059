"""schedule="auto": the Optuna search over schedule shape, temperature and alpha on the
validation split (bridge.distill.search), on digits with a tiny MLP."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from bridge.data.features import float_features
from bridge.distill import TrainData
from bridge.distill import search as search_module
from bridge.distill.search import STARTING_POINTS, search_schedule
from bridge.distill.teacher_cache import TeacherOutputs
from bridge.events import LogEvent, StageEvent, ValidationEvent
from bridge.models import build_student
from bridge.pipeline import RunContext, run
from bridge.spec import MlpConfig, QuantType, SpecError, TrainingParams
from bridge.wire import spec_from_proto, spec_to_proto
from tests.conftest import digits_spec

AUTO = TrainingParams(
    epochs=2, batch_size=64, learning_rate=5e-3, seed=3, schedule="auto", search_trials=4
)


def test_auto_runs_the_presets_first_and_ships_the_best_trial(tmp_path, home):
    events = []
    spec = digits_spec(training=AUTO, quantization=QuantType.NONE)
    result = run(spec, tmp_path / "auto", RunContext(home=home), events.append)
    search = result.manifest["training"]["search"]
    trials = search["trials"]
    assert len(trials) == 4 and result.metrics["search_trials"] == 4
    for trial, point in zip(trials, STARTING_POINTS, strict=False):  # the presets, in order
        assert (trial["schedule"], trial["temperature"], trial["alpha"]) == tuple(point.values())
    complete = [t for t in trials if t["state"] == "complete"]
    chosen = search["chosen"]
    assert chosen["val_accuracy"] == max(t["val_accuracy"] for t in complete)
    # the shipped student is the chosen trial's, as trained: its validation accuracy is the job's
    assert result.metrics["student_val_accuracy"] == pytest.approx(chosen["val_accuracy"])
    assert result.metrics["search_alpha"] == pytest.approx(chosen["alpha"])
    announced = [e.message for e in events if isinstance(e, StageEvent) and e.stage == "search"]
    assert [m.split(":")[0] for m in announced[:4]] == [f"trial {i}/4" for i in range(1, 5)]
    assert announced[-1].startswith(f"chose trial {chosen['number'] + 1} of 4")
    # watchers and the report get the chosen trial's curves once, after the search
    epochs = [e.epoch for e in events if isinstance(e, ValidationEvent)]
    assert epochs == [1, 2]
    report = (result.artifact_dir / "report" / "report.md").read_text()
    assert "## Schedule search (schedule auto)" in report and "(chosen)" in report


def _digits_data(digits):
    splits = {n: float_features(getattr(digits, n)) for n in ("train", "val")}
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(len(digits.train.y), 10)).astype(np.float32)
    teacher = TeacherOutputs(logits)
    train = TrainData(splits["train"], digits.train.y, teacher)
    return train, TrainData(splits["val"], digits.val.y)


def test_a_temperature_or_alpha_the_user_sets_is_held(digits):
    train, val = _digits_data(digits)
    student = build_student(MlpConfig((16,)), digits)
    params = TrainingParams(
        epochs=1, batch_size=64, seed=1, schedule="auto", alpha=0.25, search_trials=5
    )
    before = [p.detach().clone() for p in student.parameters()]
    _, _, result = search_schedule(student, train, val, params, lambda e: None)
    assert {t.alpha for t in result.trials} == {0.25}
    assert len({(t.schedule, t.temperature) for t in result.trials}) == 5  # the rest searched
    # the model handed in stays untrained: every trial trains its own copy
    after = list(student.parameters())
    assert all(np.array_equal(a, b.detach()) for a, b in zip(before, after, strict=True))


def test_a_pruned_trial_is_recorded_and_never_chosen(digits, monkeypatch):
    """With a pruner that stops every trial after the starting points at its first epoch."""

    class AfterStartingPoints(optuna.pruners.BasePruner):
        def prune(self, study, trial) -> bool:
            return trial.number >= len(STARTING_POINTS)

    monkeypatch.setattr(search_module, "_pruner", lambda epochs: AfterStartingPoints())
    train, val = _digits_data(digits)
    student = build_student(MlpConfig((16,)), digits)
    params = TrainingParams(epochs=2, batch_size=64, seed=1, schedule="auto", search_trials=5)
    events = []
    _, outcome, result = search_schedule(student, train, val, params, events.append)
    states = [t.state for t in result.trials]
    assert states == ["complete"] * 3 + ["pruned"] * 2
    assert [t.epochs for t in result.trials[3:]] == [1, 1]
    assert result.best.state == "complete" and result.chosen < 3
    assert any("pruned" in e.message for e in events if isinstance(e, LogEvent))
    assert outcome.cpu_seconds == result.cpu_seconds  # the cycle counts every trial


@pytest.mark.parametrize(
    ("training", "field"),
    [
        (TrainingParams(search_trials=5), "training.search_trials"),
        (TrainingParams(schedule="constant", search_trials=5), "training.search_trials"),
        (TrainingParams(schedule="auto", search_trials=0), "training.search_trials"),
        (TrainingParams(schedule="auto", search_trials=1000), "training.search_trials"),
        (TrainingParams(schedule="auto", workers=2), "training.workers"),
    ],
)
def test_search_settings_that_cannot_take_effect_are_refused_by_name(training, field):
    with pytest.raises(SpecError) as err:
        digits_spec(training=training).validate()
    assert err.value.field == field


def test_auto_and_its_trials_survive_the_wire():
    spec = digits_spec(training=AUTO)
    assert spec_from_proto(spec_to_proto(spec)) == spec
    unset = digits_spec(training=TrainingParams(schedule="auto"))
    assert spec_from_proto(spec_to_proto(unset)).training.search_trials is None
