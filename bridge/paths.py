"""Where the bridge keeps things, and the one check that user paths stay under a root."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bridge.spec import SpecError

# Directories the server itself manages (the upload store) whose files a job may read although
# they lie outside the data root. Registered explicitly by the server and by each worker.
_TRUSTED_DIRS: set[Path] = set()


def trust_directory(path: Path) -> None:
    """Lets `resolve_under_root` accept paths under `path` as well as under the root."""
    _TRUSTED_DIRS.add(path.resolve())


def default_home() -> Path:
    """Cache of trained zoo teachers and local artifacts: $DISTILL_BRIDGE_HOME or
    ~/.cache/distill-bridge."""
    env = os.environ.get("DISTILL_BRIDGE_HOME")
    return Path(env) if env else Path.home() / ".cache" / "distill-bridge"


def resolve_under_root(
    raw: str, root: Path | None, field: str, *, must_be_file: bool = False
) -> Path:
    """Resolves a user-supplied path. With a root (the server), relative paths are taken from
    it and the resolved path — symlinks followed — must stay inside it. Without a root (a
    local run) any path is allowed."""
    if not raw:
        raise SpecError(field, "must not be empty")
    if "\x00" in raw:
        raise SpecError(field, "contains a NUL byte")
    path = Path(raw).expanduser()
    if root is not None:
        root = root.resolve()
        path = (root / path).resolve() if not path.is_absolute() else path.resolve()
        if not path.is_relative_to(root) and not any(path.is_relative_to(t) for t in _TRUSTED_DIRS):
            raise SpecError(field, f"{raw!r} is outside the server's data root", kind="invalid")
    if not path.exists():
        raise SpecError(field, f"no such file: {raw!r}", kind="not_found")
    if must_be_file and not path.is_file():
        raise SpecError(field, f"{raw!r} is not a regular file")
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_bytes(path: Path) -> int:
    """Bytes of the regular files under `path` (a file: its size; gone: 0)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@contextmanager
def locked_if_free(directory: Path) -> Iterator[bool]:
    """`locked`, without waiting: yields False (holding nothing) when another holder has it."""
    with (directory.parent / f".{directory.name}.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Holds an exclusive lock named after `directory` (a `.<name>.lock` file beside it), so
    concurrent jobs, processes or Ray actors sharing a cache build each entry once."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with (directory.parent / f".{directory.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
