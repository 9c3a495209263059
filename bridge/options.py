"""Flag values of the form `key=value,key=value` (`serve --retain`, `--teacher-cache-budget`):
split and checked here, each value then parsed by its owner. Standard library only: the CLI
checks its flags before anything heavy loads."""

from __future__ import annotations

import re

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_pairs(text: str, keys: tuple[str, ...], bare: str | None = None) -> dict[str, str]:
    """`a=1,b=2` -> {"a": "1", "b": "2"}. A part without `=` is the value of `bare` when given.
    ValueError names the part that is wrong: an unknown key, or one given twice."""
    values: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, raw = part.partition("=")
        if not eq and bare is not None:
            key, raw = bare, part
        if key not in keys:
            raise ValueError(f"{part!r}: the key must be one of {', '.join(keys)}")
        if key in values:
            raise ValueError(f"{key} is given twice")
        values[key] = raw.strip()
    return values


def parse_size(key: str, raw: str) -> int:
    """`500MB`, `2GB` (powers of 1000) or `1.5GiB` (powers of 1024) in bytes; ValueError names
    `key`."""
    match = _SIZE.fullmatch(raw.strip())
    if not match or (match[3] and not match[2]):
        raise ValueError(f"{key}={raw!r}: give a size such as 500MB, 2GB or 1.5GiB")
    number, power, binary = match.groups()
    base = 1024 if binary else 1000
    return int(float(number) * base ** _POWERS[power.lower()])


def format_bytes(n: float) -> str:
    """1234567 -> '1.2 MB' (powers of 1000, as parse_size reads them)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
