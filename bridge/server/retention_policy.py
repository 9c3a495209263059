"""What `serve --retain` keeps: parsed and checked here, without importing the server (the CLI
checks its flags before anything heavy loads). Applied by bridge/server/retention.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from bridge.options import parse_pairs, parse_size

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AGE = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
# How often the sweep runs: a quarter of the shortest age, within these bounds.
MIN_INTERVAL_S, MAX_INTERVAL_S = 1.0, 600.0


@dataclass(frozen=True)
class RetentionPolicy:
    """Ages in seconds; None keeps forever."""

    jobs: float | None = None  # finished jobs, counted from when they finished
    max_jobs: int | None = None  # at most this many finished jobs, the oldest go first
    uploads: float | None = None  # counted from the last submit or finish of a job using it
    teacher_cache: float | None = None  # counted from the last job that read the entry
    # at most this many bytes of teacher-output cache; the least recently read entries go first
    teacher_cache_size: int | None = None

    @classmethod
    def parse(cls, text: str) -> RetentionPolicy:
        """`jobs=7d,max-jobs=1000,uploads=30d,teacher-cache=14d,teacher-cache-size=50GB` (ages
        in s, m, h, d; sizes as for --teacher-cache-budget). ValueError names the part that is
        wrong."""
        names = {f.name.replace("_", "-"): f.name for f in fields(cls)}
        values = {
            names[key]: _PARSERS.get(key, _age)(key, raw)
            for key, raw in parse_pairs(text, tuple(names)).items()
        }
        return cls(**values)

    @property
    def enabled(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    @property
    def interval(self) -> float:
        """A size cap alone is checked every MAX_INTERVAL_S."""
        ages = [a for a in (self.jobs, self.uploads, self.teacher_cache) if a is not None]
        return min(max(min(ages, default=MAX_INTERVAL_S) / 4, MIN_INTERVAL_S), MAX_INTERVAL_S)


def _age(key: str, raw: str) -> float:
    match = _AGE.fullmatch(raw)
    if not match:
        raise ValueError(f"{key}={raw!r}: give an age such as 90s, 30m, 12h or 7d")
    return float(match[1]) * _UNITS[match[2]]


def _count(key: str, raw: str) -> int:
    if not raw.isdigit():
        raise ValueError(f"{key}={raw!r}: give a whole number of jobs")
    return int(raw)


_PARSERS = {"max-jobs": _count, "teacher-cache-size": parse_size}
