"""What `distill-bridge distill` and `demo` print while a job runs: stages, validation results and
warnings as lines, and each long phase's progress — a live bar per phase (rich) on a terminal,
plain lines (the phase's start, then at most one every `PLAIN_EVERY_S` seconds or quarter, and
its end; a one-step phase only through its stage line) when stdout is a file or a pipe."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from bridge.events import (
    Event,
    LogEvent,
    MlflowRun,
    PhaseProgressEvent,
    StageEvent,
    ValidationEvent,
)
from bridge.progress import duration_words

PLAIN_EVERY_S = 10.0
PLAIN_EVERY_SHARE = 0.25


def describe(event: PhaseProgressEvent) -> str:
    """`[train] 1,200/2,400 steps (50%), about 1 min left - <message>`."""
    done = f"{event.done:,}/{event.total:,}" if event.total else f"{event.done:,}"
    share = f" ({100 * event.done / event.total:.0f}%)" if event.total else ""
    eta = f", about {duration_words(event.eta_seconds)} left" if event.eta_seconds > 0 else ""
    note = f" - {event.message}" if event.message else ""
    return f"[{event.phase}] {done} {event.unit}{share}{eta}{note}"


class JobPrinter:
    """An event sink; `close()` ends the live display."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.live = self.out.isatty()
        self._bars = _Bars(self.out) if self.live else None
        self._plain: dict[str, tuple[float, float]] = {}  # phase -> (time, share) last printed

    def __call__(self, event: Event) -> None:
        if isinstance(event, PhaseProgressEvent):
            self._progress(event)
        elif isinstance(event, StageEvent):
            self._line(f"[{event.stage}] {event.message}")
        elif isinstance(event, ValidationEvent):
            best = "  (best)" if event.best else ""
            self._line(f"  epoch {event.epoch}: val accuracy {event.accuracy:.4f}{best}")
        elif isinstance(event, LogEvent):
            self._line(f"  {event.message}")
        elif isinstance(event, MlflowRun):
            registered = f", registered as {event.registered_model_name!r} version "
            self._line(
                f"  MLflow run {event.run_url or event.run_id}"
                + (registered + event.model_version if event.model_version else "")
            )

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()

    def __enter__(self) -> JobPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self, text: str) -> None:
        if self._bars is not None:
            self._bars.print(text)
        else:
            print(text, file=self.out, flush=True)

    def _progress(self, event: PhaseProgressEvent) -> None:
        if self._bars is not None:
            self._bars.update(event)
            if event.message:
                self._bars.print(f"  {describe(event)}")
            return
        now, share = time.monotonic(), event.done / event.total if event.total else 0.0
        last = self._plain.get(event.phase)
        first, finished = event.done == 0 or last is None, bool(event.total) and share >= 1
        due = last is not None and (
            now - last[0] >= PLAIN_EVERY_S or share - last[1] >= PLAIN_EVERY_SHARE
        )
        if event.total == 1:
            return  # a one-step phase (export, quantize): its stage line says it all
        if first or finished or due or event.message:
            self._plain[event.phase] = (now, share)
            self._line(f"  {describe(event)}")


class _Bars:
    """rich's live progress bars, one task per phase; other lines print above them."""

    def __init__(self, out: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TimeRemainingColumn(),
            console=Console(file=out),
            transient=False,
        )
        self.tasks: dict[str, int] = {}
        self.progress.start()

    def update(self, event: PhaseProgressEvent) -> None:
        task = self.tasks.get(event.phase)
        total = event.total or None
        if task is None or event.done == 0:  # a phase that starts again gets a new bar
            task = self.progress.add_task(event.phase, total=total, unit=event.unit)
            self.tasks[event.phase] = task
        self.progress.update(task, completed=event.done, total=total)

    def print(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)

    def stop(self) -> None:
        self.progress.stop()
