"""The per-job report every artifact carries in `report/`: `loss_curves.png` (training loss per
step, validation accuracy per epoch, schedule stage changes marked) and `report.md` (accuracy,
sizes, latencies, parity, peak memory per phase, gates: what `metrics` and the manifest hold).

The pipeline wraps its event sink in a `TrainingHistory` (it records the curves from the
events it already emits) and calls `write_report` just before the manifest is written.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from bridge.events import Event, EventSink, LogEvent, ProgressEvent, StageEvent, ValidationEvent
from bridge.export import manifest as mf

MARKDOWN = "report.md"
PLOT = "loss_curves.png"
TRAIN_STAGE_PREFIX = "train."
_SPLITS = ("train", "val", "test")
_PHASES = ("load", "prepare", "teacher", "train", "export")  # the pipeline's order


@dataclass(frozen=True)
class LossPoint:
    position: float  # in epochs: 1.5 = halfway through the second epoch
    loss: float


@dataclass(frozen=True)
class EpochPoint:
    epoch: int
    accuracy: float
    loss: float
    best: bool


@dataclass(frozen=True)
class StageMark:
    position: float  # in epochs, where the stage began
    name: str  # "warmup", "distill", ... (the part after "train.")


@dataclass
class TrainingHistory:
    """An event sink that records the training curves and passes every event on unchanged."""

    forward: EventSink
    losses: list[LossPoint] = field(default_factory=list)
    epochs: list[EpochPoint] = field(default_factory=list)
    stages: list[StageMark] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        self._record(event)
        self.forward(event)

    def _record(self, event: Event) -> None:
        if isinstance(event, ProgressEvent):
            position = event.epoch - 1 + event.step / max(event.steps_per_epoch, 1)
            self.losses.append(LossPoint(position, event.loss))
        elif isinstance(event, ValidationEvent):
            self.epochs.append(EpochPoint(event.epoch, event.accuracy, event.loss, event.best))
        elif isinstance(event, StageEvent) and event.stage.startswith(TRAIN_STAGE_PREFIX):
            # A stage begins before its first step runs: it starts where the last step ended.
            start = self.losses[-1].position if self.losses else 0.0
            self.stages.append(StageMark(start, event.stage[len(TRAIN_STAGE_PREFIX) :]))


def write_report(
    directory: Path, manifest: dict, history: TrainingHistory, on_event: EventSink
) -> dict | None:
    """Writes `directory/report/` and returns the manifest's `report` entry (file names relative
    to the artifact, with their hashes). The artifact is the product and the report documents
    it, so a report that cannot be written is a warning, not a failed job."""
    out = directory / mf.REPORT_DIR
    try:
        out.mkdir(exist_ok=True)
        plot_curves(history, out / PLOT)
        (out / MARKDOWN).write_text(render_markdown(manifest, history))
    except Exception as e:  # whatever broke, the models stay shippable
        shutil.rmtree(out, ignore_errors=True)  # no half report travels with the artifact
        on_event(LogEvent(f"no report written: {type(e).__name__}: {e}", "WARNING"))
        return None
    return {
        "markdown": f"{mf.REPORT_DIR}/{MARKDOWN}",
        "loss_curves": f"{mf.REPORT_DIR}/{PLOT}",
        "files": mf.file_entries(out, prefix=f"{mf.REPORT_DIR}/"),
    }


def report_directory(artifact: Path) -> Path | None:
    """The report directory of an artifact on disk, or None when it has none (an artifact
    from before reports, or one whose report could not be written)."""
    try:
        entry = mf.read_manifest(artifact).get("report")
    except (OSError, ValueError):
        return None
    path = artifact / mf.REPORT_DIR
    return path if entry and path.is_dir() else None


# ---------------------------------------------------------------- the plot


def plot_curves(history: TrainingHistory, path: Path) -> None:
    """Training loss per step (top) and validation accuracy per epoch (bottom), on one epoch
    axis; dashed lines where the schedule changed stage."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Figure + the Agg canvas, not pyplot: no global backend state in a server process.
    fig = Figure(figsize=(8, 6), layout="constrained")
    FigureCanvasAgg(fig)
    loss_ax, acc_ax = fig.subplots(2, 1, sharex=True)
    if history.losses:
        loss_ax.plot(
            [p.position for p in history.losses],
            [p.loss for p in history.losses],
            lw=1,
            label="training loss",
        )
    if history.epochs:
        loss_ax.plot(
            [e.epoch for e in history.epochs],
            [e.loss for e in history.epochs],
            "o-",
            ms=3,
            label="validation loss",
        )
        acc_ax.plot(
            [e.epoch for e in history.epochs],
            [e.accuracy for e in history.epochs],
            "o-",
            ms=3,
            color="tab:green",
            label="validation accuracy",
        )
        best = [e for e in history.epochs if e.best]
        if best:
            acc_ax.plot(
                best[-1].epoch, best[-1].accuracy, "*", ms=12, color="tab:red", label="kept"
            )
    if not (history.losses or history.epochs):
        loss_ax.text(
            0.5, 0.5, "no training events recorded", ha="center", transform=loss_ax.transAxes
        )
    for mark in history.stages:
        for ax in (loss_ax, acc_ax):
            ax.axvline(mark.position, color="grey", ls="--", lw=0.8)
        loss_ax.annotate(
            mark.name,
            (mark.position, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            fontsize=8,
            color="dimgrey",
        )
    loss_ax.set_ylabel("loss")
    loss_ax.set_title("training")
    acc_ax.set_ylabel("validation accuracy")
    acc_ax.set_xlabel("epoch")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8)
    fig.savefig(path, dpi=100)


# ---------------------------------------------------------------- the markdown


def render_markdown(manifest: dict, history: TrainingHistory) -> str:
    m = manifest.get("metrics", {})
    lines = [f"# Distillation report: {manifest.get('name') or manifest.get('job_id') or 'job'}"]
    lines += ["", *_facts(manifest), ""]
    lines += [f"![training curves]({PLOT})", ""]
    sections = (
        ("Accuracy (test split)", _accuracy_rows(m)),
        ("Size and latency", _size_rows(m)),
        ("Vocabulary (text students)", _rows(m, _VOCABULARY)),
        ("Parity", _parity_rows(m)),
        ("Time", _time_rows(m)),
        ("Peak memory (RSS) per phase", _rss_rows(m)),
    )
    for title, rows in sections:
        if rows:
            lines += [f"## {title}", "", "| measure | value |", "|---|---|", *rows, ""]
    lines += _teacher_cache(manifest)
    lines += _gates(manifest)
    lines += _search(manifest)
    lines += _epochs(history)
    shown = _SHOWN | {k for k in m if _is_rss(k)}
    rest = sorted(k for k in m if k not in shown)
    if rest:
        lines += ["## Other metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| `{k}` | {_num(m[k])} |" for k in rest] + [""]
    lines += [
        "The JVM check (`verification.jvm` in manifest.json) runs after this report is written.",
        "",
    ]
    return "\n".join(lines)


def _facts(manifest: dict) -> list[str]:
    teacher = manifest.get("teacher") or {}
    student = manifest.get("student") or {}
    dataset = manifest.get("dataset") or {}
    rows = dataset.get("rows") or {}
    training = manifest.get("training") or {}
    params = student.get("parameters")
    schedule = training.get("schedule")
    if isinstance(schedule, dict):  # a custom Schedule, not a preset name
        schedule = schedule.get("name") or "custom"
    facts = [
        ("job", manifest.get("job_id")),
        ("created", manifest.get("created_at")),
        ("dataset", dataset.get("reference")),
        (
            "rows (train/val/test)",
            "/".join(str(rows.get(k, "?")) for k in ("train", "val", "test")),
        ),
        ("modality", manifest.get("modality")),
        ("teacher", teacher.get("reference")),
        ("student", student.get("architecture")),
        ("student parameters", f"{params:,}" if isinstance(params, int) else None),
        ("schedule", schedule),
        ("epochs", training.get("epochs")),
        ("quantization", (manifest.get("quantization") or {}).get("type", "none")),
    ]
    return [f"- {k}: {v}" for k, v in facts if v not in (None, "")]


_ACCURACY = (
    ("majority-class baseline (most frequent class)", "majority_baseline_accuracy", "acc"),
    ("teacher accuracy", "teacher_accuracy", "acc"),
    ("student accuracy (fp32 ONNX)", "student_accuracy", "acc"),
    ("student accuracy (INT8 ONNX)", "student_int8_accuracy", "acc"),
    ("INT8 accuracy drop", "int8_accuracy_drop", "acc"),
    ("retention (shipped student / teacher)", "retention_pct", "pct"),
    ("retention, 95% interval low (paired bootstrap)", "retention_ci_low_pct", "pct"),
    ("retention, 95% interval high", "retention_ci_high_pct", "pct"),
    ("shipped student accuracy, 95% interval low", "student_accuracy_ci_low", "acc"),
    ("shipped student accuracy, 95% interval high", "student_accuracy_ci_high", "acc"),
    ("best validation accuracy (student)", "student_val_accuracy", "acc"),
    ("best epoch", "best_epoch", "int"),
)
_SIZE = (
    ("teacher parameters", "teacher_parameters", "int"),
    ("student parameters", "student_parameters", "int"),
    ("teacher file", "teacher_file_bytes", "bytes"),
    ("teacher ONNX", "teacher_onnx_bytes", "bytes"),
    ("student ONNX (fp32)", "student_onnx_bytes", "bytes"),
    ("student ONNX (INT8)", "student_int8_onnx_bytes", "bytes"),
    ("compression (teacher / shipped student)", "compression_ratio", "x"),
    ("teacher latency (1 sample)", "teacher_latency_ms", "ms"),
    ("student latency fp32 (1 sample)", "student_latency_ms", "ms"),
    ("student latency INT8 (1 sample)", "student_int8_latency_ms", "ms"),
    ("speed-up (teacher / shipped student)", "speedup", "x"),
)
_VOCABULARY = (
    ("student vocabulary (tokens)", "student_vocabulary", "int"),
    ("teacher vocabulary (tokens)", "teacher_vocabulary", "int"),
    ("validation tokens outside the pruned vocabulary", "vocabulary_unseen_val_pct", "pct2"),
    ("validation tokens that become [UNK] under pruning", "vocabulary_oov_val_pct", "pct2"),
)
_PARITY = (
    ("max abs diff, ONNX Runtime vs PyTorch (test split)", "parity_max_abs_diff", "sci"),
    ("max abs diff, JVM vs Python (golden vectors)", "jvm_parity_max_abs_diff", "sci"),
)
_TIME = (
    ("teacher preparation", "teacher_prep_seconds", "s"),
    ("teacher outputs (cache)", "teacher_cache_seconds", "s"),
    ("student training", "train_seconds", "s"),
    ("of which the schedule search (all trials)", "search_seconds", "s"),
)
_CACHE = (
    ("cache entry on disk", "teacher_cache_bytes", "bytes"),
    ("per training row", "teacher_cache_bytes_per_row", "bytes"),
)
_TABLES = (_ACCURACY, _SIZE, _VOCABULARY, _PARITY, _TIME, _CACHE)
_SHOWN = {key for table in _TABLES for _, key, _ in table}


def _rows(m: dict, table: tuple[tuple[str, str, str], ...]) -> list[str]:
    return [f"| {label} | {_fmt(m[key], kind)} |" for label, key, kind in table if key in m]


def _accuracy_rows(m: dict) -> list[str]:
    return _rows(m, _ACCURACY)


def _size_rows(m: dict) -> list[str]:
    return _rows(m, _SIZE)


def _parity_rows(m: dict) -> list[str]:
    return _rows(m, _PARITY)


def _time_rows(m: dict) -> list[str]:
    return _rows(m, _TIME)


def _is_rss(key: str) -> bool:
    return key.startswith("peak_rss_") and key.endswith("_mb")


def _rss_rows(m: dict) -> list[str]:
    phases = [k[len("peak_rss_") : -len("_mb")] for k in m if _is_rss(k)]
    phases.sort(key=lambda p: (_PHASES.index(p) if p in _PHASES else len(_PHASES), p))
    return [f"| {p} | {m[f'peak_rss_{p}_mb']:,.0f} MiB |" for p in phases]


def _teacher_cache(manifest: dict) -> list[str]:
    """Which path the teacher's feature targets took (cached, compact, recomputed) and why."""
    plan = manifest.get("teacher_cache")
    if not plan:
        return []
    m = manifest.get("metrics", {})
    lines = ["## Teacher-output cache", "", f"Feature targets: {plan['described']}."]
    lines += [f"Why: {plan['reason']}.", "", "| measure | value |", "|---|---|"]
    lines += [f"| budget | {plan['budget']} |"]
    lines += _rows(m, _CACHE)
    if plan["features"] != "none":
        for label, key in (
            ("fp16 feature targets", "features_fp16_bytes"),
            ("compact", "features_compact_bytes"),
        ):
            lines.append(f"| {label} (needed) | {_bytes(plan[key])} |")
    return [*lines, ""]


def _gates(manifest: dict) -> list[str]:
    gates = (manifest.get("verification") or {}).get("gates") or []
    if not gates:
        return []
    lines = ["## Gates", "", "| gate | measured | limit | result |", "|---|---|---|---|"]
    for g in gates:
        verdict = "passed" if g.get("passed") else "**failed**"
        if g.get("action"):
            verdict += f" ({g['action']})"
        measured, limit = _num(g.get("measured")), _num(g.get("limit"))
        lines.append(f"| `{g.get('gate')}` | {measured} | {limit} | {verdict} |")
    return [*lines, ""]


def _search(manifest: dict) -> list[str]:
    """schedule="auto": every trial, the chosen one marked (the curves are its)."""
    search = (manifest.get("training") or {}).get("search")
    if not search:
        return []
    chosen = search["chosen"]["number"]
    lines = [
        "## Schedule search (schedule auto)",
        "",
        f"{len(search['trials'])} trials in {search['seconds']:.1f} s ({search['library']}), "
        f"chosen by {search['objective']}; the curves above are the chosen trial's.",
        "",
        "| trial | schedule | temperature | alpha | state | epochs | validation accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in search["trials"]:
        mark = " (chosen)" if t["number"] == chosen else ""
        lines.append(
            f"| {t['number'] + 1}{mark} | {t['schedule']} | {t['temperature']:.3g} | "
            f"{t['alpha']:.3g} | {t['state']} | {t['epochs']} | {t['val_accuracy']:.4f} |"
        )
    return [*lines, ""]


def _epochs(history: TrainingHistory) -> list[str]:
    if not history.epochs:
        return []
    lines = [
        "## Validation per epoch",
        "",
        "| epoch | stage | accuracy | loss | kept |",
        "|---|---|---|---|---|",
    ]
    for e in history.epochs:
        stage = " → ".join(_stages_in(history, e.epoch))
        kept = "yes" if e.best else ""
        lines.append(f"| {e.epoch} | {stage} | {e.accuracy:.4f} | {e.loss:.4f} | {kept} |")
    return [*lines, ""]


def _stages_in(history: TrainingHistory, epoch: int) -> list[str]:
    """The schedule stages that ran during `epoch`: the one it began in, then any that began
    within it."""
    began_before = [s.name for s in history.stages if s.position <= epoch - 1]
    began_within = [s.name for s in history.stages if epoch - 1 < s.position < epoch]
    return began_before[-1:] + began_within


def _fmt(value: float, kind: str) -> str:
    if kind == "acc":
        return f"{value:.4f}"
    if kind == "pct":
        return f"{value:.1f}%"
    if kind == "pct2":
        return f"{value:.2f}%"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "bytes":
        return _bytes(value)
    if kind == "x":
        return f"{value:.1f}x"
    if kind == "ms":
        return f"{value:.3f} ms"
    if kind == "s":
        return f"{value:.1f} s"
    return f"{value:.2e}"


def _bytes(n: float) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:,.1f} {unit} ({int(n):,} bytes)"
    return f"{int(n):,} bytes"


def _num(value: object) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


__all__ = ["TrainingHistory", "report_directory", "write_report"]
