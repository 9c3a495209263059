"""schedule="auto": a search over the schedule's shape, temperature and alpha on the
validation split, with Optuna (TPE sampler, median pruner).

Why a search: no fixed temperature and alpha win everywhere (bench/README.md, "Budgets"): a
teacher barely better than the student wants alpha near 0, few labelled rows want soft targets
at a high temperature. The teacher's outputs are cached once (teacher_cache), so a trial costs
one student training and nothing more. Every trial starts from the same initial weights and
seed, so trials differ only in what is searched.

The first trials are the default (progressive), the seed's constant loss and no distillation,
so the winner is at least as good as each of them on the validation split; TPE proposes the
rest. A trial whose validation accuracy falls below the median of earlier trials at the same
epoch, after half its epochs, is stopped early. The best trial's student ships as trained:
nothing is retrained.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import optuna
from torch import nn

from bridge.distill.feature_losses import FeatureAlignment
from bridge.distill.self_distill import SelfDistillLoss
from bridge.distill.trainer import TrainData, TrainOutcome, soft_targets_only, train
from bridge.events import Event, EventSink, LogEvent, StageEvent, ValidationEvent
from bridge.spec import DEFAULT_SEARCH_TRIALS, TrainingParams

SEARCHED_SHAPES = ("progressive", "constant")
TEMPERATURE_RANGE = (1.0, 20.0)  # searched on a log scale; Hinton et al. used up to 20
# Tried first, in this order: the default, the seed's CustomLoss, no distillation (alpha 0).
# The default's alpha anneals 0.9 -> 0.5; a searched alpha is held, so 0.7 stands in for it.
STARTING_POINTS = (
    {"schedule": "progressive", "temperature": 4.0, "alpha": 0.7},
    {"schedule": "constant", "temperature": 4.0, "alpha": 0.5},
    {"schedule": "progressive", "temperature": 4.0, "alpha": 0.0},
)
RANDOM_TRIALS = 2  # after the starting points, before TPE models the results
SEARCH_STAGE = "search"  # not "train.*": the report's curves are the winner's alone


@dataclass(frozen=True)
class SearchTrial:
    number: int
    schedule: str
    temperature: float
    alpha: float
    state: str  # "complete" or "pruned"
    val_accuracy: float  # the best epoch's; for a pruned trial, its last epoch's
    val_loss: float
    epochs: int  # trained (fewer than asked when pruned)
    seconds: float


@dataclass
class SearchResult:
    trials: list[SearchTrial] = field(default_factory=list)
    chosen: int = -1  # index into trials
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    @property
    def best(self) -> SearchTrial:
        return self.trials[self.chosen]

    def to_dict(self) -> dict:
        """The manifest's `training.search`."""
        return {
            "library": f"optuna {optuna.__version__}",
            "objective": "validation accuracy (ties: lower validation loss)",
            "chosen": asdict(self.best),
            "trials": [asdict(t) for t in self.trials],
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
        }

    def metrics(self) -> dict[str, float]:
        pruned = sum(t.state == "pruned" for t in self.trials)
        return {
            "search_trials": float(len(self.trials)),
            "search_trials_pruned": float(pruned),
            "search_seconds": self.seconds,
            "search_temperature": self.best.temperature,
            "search_alpha": self.best.alpha,
        }


def search_schedule(
    model: nn.Module,
    data: TrainData,
    val: TrainData,
    params: TrainingParams,
    on_event: EventSink,
    *,
    labeled: bool = True,
    feature_loss: FeatureAlignment | None = None,
    self_distill: SelfDistillLoss | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> tuple[nn.Module, TrainOutcome, SearchResult]:
    """Runs the search; returns the winning trial's trained student, its outcome (with the whole
    search's time) and the search's record. `model` itself is left untrained."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    initial = (model, feature_loss, self_distill)  # copied together: exits share the student
    n_trials = params.search_trials or DEFAULT_SEARCH_TRIALS
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(
            n_startup_trials=len(STARTING_POINTS) + RANDOM_TRIALS, seed=params.seed
        ),
        pruner=_pruner(params.epochs),
    )
    for point in _starting_points(params, labeled)[:n_trials]:
        study.enqueue_trial(point, skip_if_exists=True)
    result = SearchResult()
    best_key: tuple[float, float] | None = None
    best: tuple[nn.Module, TrainOutcome, list[Event]] | None = None
    start, cpu_start = time.perf_counter(), time.process_time()
    for number in range(n_trials):
        trial = study.ask()
        trial_params = _suggest(trial, params, labeled)
        candidate, trial_features, trial_exits = copy.deepcopy(initial)
        sink = _TrialSink(trial)
        shown = _shown(trial_params, labeled)
        on_event(StageEvent(SEARCH_STAGE, f"trial {number + 1}/{n_trials}: {shown}"))
        trial_start = time.perf_counter()
        try:
            outcome = train(
                candidate,
                data,
                val,
                trial_params if labeled else soft_targets_only(trial_params),
                sink,
                feature_loss=trial_features,
                self_distill=trial_exits,
                should_stop=should_stop,
            )
        except optuna.TrialPruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            result.trials.append(
                _record(
                    number,
                    trial_params,
                    "pruned",
                    sink.last_accuracy,
                    sink.last_loss,
                    sink.epochs,
                    trial_start,
                )
            )
            on_event(LogEvent(f"search trial {number + 1}: pruned, {sink.summary()}"))
            continue
        study.tell(trial, outcome.best_val_accuracy)
        loss = _best_loss(outcome)
        result.trials.append(
            _record(
                number,
                trial_params,
                "complete",
                outcome.best_val_accuracy,
                loss,
                len(outcome.history),
                trial_start,
            )
        )
        on_event(
            LogEvent(
                f"search trial {number + 1}: best validation accuracy "
                f"{outcome.best_val_accuracy:.4f} (epoch {outcome.best_epoch})"
            )
        )
        key = (outcome.best_val_accuracy, -loss)
        if best_key is None or key > best_key:
            best_key, best = key, (candidate, outcome, sink.events)
            result.chosen = len(result.trials) - 1
    assert best is not None, "the first trial is never pruned"
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = time.process_time() - cpu_start
    winner, outcome, events = best
    on_event(
        StageEvent(
            SEARCH_STAGE,
            f"chose trial {result.best.number + 1} of {len(result.trials)}: "
            f"{_shown(_as_params(result.best, params), labeled)}, validation accuracy "
            f"{result.best.val_accuracy:.4f}; its training follows",
        )
    )
    for event in events:  # the shipped student's own curves, for watchers and the report
        on_event(event)
    outcome = replace(outcome, seconds=result.seconds, cpu_seconds=result.cpu_seconds)
    return winner, outcome, result


def _pruner(epochs: int) -> optuna.pruners.BasePruner:
    """Median pruning from half the epochs on, once the starting points have completed."""
    return optuna.pruners.MedianPruner(
        n_startup_trials=len(STARTING_POINTS), n_warmup_steps=epochs // 2
    )


def _starting_points(params: TrainingParams, labeled: bool) -> list[dict]:
    """STARTING_POINTS restricted to what is searched, without duplicates."""
    searched = _searched(params, labeled)
    points: list[dict] = []
    for point in STARTING_POINTS:
        kept = {k: v for k, v in point.items() if k in searched}
        if kept not in points:
            points.append(kept)
    return points


def _searched(params: TrainingParams, labeled: bool) -> set[str]:
    """A temperature or alpha the user set is held; unlabeled data learns from the teacher
    alone (alpha 1 in every stage), so its alpha is not searched."""
    out = {"schedule"}
    if params.temperature is None:
        out.add("temperature")
    if params.alpha is None and labeled:
        out.add("alpha")
    return out


def _suggest(trial: optuna.Trial, params: TrainingParams, labeled: bool) -> TrainingParams:
    searched = _searched(params, labeled)
    schedule = trial.suggest_categorical("schedule", SEARCHED_SHAPES)
    temperature = params.temperature
    if "temperature" in searched:
        temperature = trial.suggest_float("temperature", *TEMPERATURE_RANGE, log=True)
    alpha = params.alpha if params.alpha is not None else 1.0
    if "alpha" in searched:
        alpha = trial.suggest_float("alpha", 0.0, 1.0)
    return replace(params, schedule=schedule, temperature=temperature, alpha=alpha)


def _shown(params: TrainingParams, labeled: bool) -> str:
    alpha = f"alpha {params.alpha:.3g}" if labeled else "soft labels only"
    return f"{params.schedule}, temperature {params.temperature:g}, {alpha}"


def _as_params(trial: SearchTrial, params: TrainingParams) -> TrainingParams:
    return replace(
        params, schedule=trial.schedule, temperature=trial.temperature, alpha=trial.alpha
    )


def _best_loss(outcome: TrainOutcome) -> float:
    return next(h["val_loss"] for h in outcome.history if h["epoch"] == outcome.best_epoch)


def _record(
    number: int,
    params: TrainingParams,
    state: str,
    accuracy: float,
    loss: float,
    epochs: int,
    start: float,
) -> SearchTrial:
    assert params.temperature is not None and params.alpha is not None  # set by _suggest
    return SearchTrial(
        number,
        str(params.schedule),
        params.temperature,
        params.alpha,
        state,
        accuracy,
        loss,
        epochs,
        time.perf_counter() - start,
    )


@dataclass
class _TrialSink:
    """One trial's event sink: buffers its training events (only the winner's are replayed,
    so watchers and the report see the shipped student's curves) and reports each epoch's
    validation accuracy to Optuna, raising TrialPruned when the pruner says so."""

    trial: optuna.Trial
    events: list[Event] = field(default_factory=list)
    last_accuracy: float = 0.0
    last_loss: float = 0.0
    epochs: int = 0

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if not isinstance(event, ValidationEvent):
            return
        self.last_accuracy, self.last_loss, self.epochs = event.accuracy, event.loss, event.epoch
        self.trial.report(event.accuracy, event.epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"epoch {event.epoch}: below the median of earlier trials")

    def summary(self) -> str:
        return f"validation accuracy {self.last_accuracy:.4f} after {self.epochs} epochs"
