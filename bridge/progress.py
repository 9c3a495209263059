"""Progress of the phases that can take more than a few seconds, as `PhaseProgressEvent`s.

A phase reports what it is at its start, then how far it has come at most once per
`MIN_INTERVAL_S` (so 50 watchers and the event store grow with the job's duration, not its
step count), and its end. Once it has run for `ESTIMATE_AFTER_S` or done `ESTIMATE_AFTER_SHARE`
of its work, the rate measured so far gives an ETA, and the first event that carries one also
says, in words, roughly how long the phase will take here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bridge.events import EventSink, PhaseProgressEvent

MIN_INTERVAL_S = 1.0
ESTIMATE_AFTER_S = 2.0
ESTIMATE_AFTER_SHARE = 0.05


class PhaseProgress:
    """`advance` / `update` as work gets done; `finish` once it is all done. Thread-unsafe: one
    phase, one loop."""

    def __init__(
        self,
        on_event: EventSink,
        phase: str,
        total: int,
        unit: str,
        what: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.on_event = on_event
        self.phase, self.total, self.unit = phase, max(0, total), unit
        self.clock = clock
        self.start = self.last_sent = clock()
        self.done = 0
        self.estimated = False
        self.figures: dict[str, float] = {}
        self._send(-1.0, what)

    def advance(self, amount: int = 1, **figures: float) -> None:
        self.update(self.done + amount, **figures)

    def update(self, done: int, **figures: float) -> None:
        self.done = done
        self.figures.update(figures)
        now = self.clock()
        if now - self.last_sent >= MIN_INTERVAL_S:
            eta, message = self._estimate(now)
            self._send(eta, message)

    def finish(self, **figures: float) -> None:
        self.done = max(self.done, self.total)
        self.figures.update(figures)
        self._send(0.0, "")

    def _estimate(self, now: float) -> tuple[float, str]:
        elapsed = now - self.start
        if not self.total or not self.done:
            return -1.0, ""
        share = self.done / self.total
        if elapsed < ESTIMATE_AFTER_S and share < ESTIMATE_AFTER_SHARE:
            return -1.0, ""
        eta = elapsed * (1 - share) / share
        if self.estimated:
            return eta, ""
        self.estimated = True
        return eta, (
            f"about {duration_words(elapsed + eta)} in all here "
            f"(measured over the first {self.done:,} {self.unit})"
        )

    def _send(self, eta: float, message: str) -> None:
        self.last_sent = self.clock()
        self.on_event(
            PhaseProgressEvent(
                phase=self.phase,
                done=self.done,
                total=self.total,
                unit=self.unit,
                elapsed_seconds=self.last_sent - self.start,
                eta_seconds=eta,
                message=message,
                figures=dict(self.figures),
            )
        )


@contextmanager
def single_step(on_event: EventSink, phase: str, what: str) -> Iterator[None]:
    """A phase that is one piece of work (an export, a quantization): its start and its end."""
    progress = PhaseProgress(on_event, phase, 1, "steps", what)
    yield
    progress.finish()


def duration_words(seconds: float) -> str:
    """`45 s`, `3 min`, `1 h 20 min`."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
