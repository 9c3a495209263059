"""Peak resident memory per pipeline phase.

Linux keeps a process's peak RSS (VmHWM); writing "5" to /proc/self/clear_refs resets it, so
each phase's peak is measured on its own instead of as the running maximum.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")


def peak_rss_mb() -> float:
    """This process's peak RSS since the last reset, in MiB (0 where /proc is missing)."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def reset_peak() -> None:
    with contextlib.suppress(OSError):  # not Linux: a phase reports the running peak
        CLEAR_REFS.write_text("5")


def release_memory() -> None:
    """Returns what the finished phase freed to the OS. Without it glibc keeps freed heap
    pages (export graphs, ORT arenas, the teacher's weights) resident into the next phase."""
    gc.collect()
    libc = ctypes.util.find_library("c")
    if libc:
        with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
            ctypes.CDLL(libc).malloc_trim(0)


@contextmanager
def phase_peak(metrics: dict[str, float], phase: str) -> Iterator[None]:
    """Records `peak_rss_<phase>_mb` for the code in the block, then releases what it freed."""
    reset_peak()
    try:
        yield
    finally:
        metrics[f"peak_rss_{phase}_mb"] = peak_rss_mb()
        release_memory()
