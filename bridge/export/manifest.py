"""manifest.json: everything a runtime needs to trust and use the artifact (docs/ARTIFACT.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from bridge.paths import sha256_file

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FP32_MODEL = "model.onnx"
INT8_MODEL = "model.int8.onnx"
# The per-job report (bridge/report.py): the artifact's one subdirectory, listed in the manifest
# under `report.files` (not `files`, which a loader checks before it runs a model).
REPORT_DIR = "report"


def file_entries(directory: Path, prefix: str = "") -> dict[str, dict]:
    """SHA-256 and size of every file in `directory` except the manifest itself, keyed by
    `prefix + name` (the prefix names a subdirectory: "report/")."""
    return {
        prefix + p.name: {"sha256": sha256_file(p), "size_bytes": p.stat().st_size}
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != MANIFEST
    }


def artifact_members(directory: Path) -> list[str]:
    """Every file an artifact ships, as POSIX paths relative to it: its top-level files (the
    manifest included) and those of report/. Servers build their download list from this."""
    report = directory / REPORT_DIR
    nested = sorted(p for p in report.iterdir() if p.is_file()) if report.is_dir() else []
    top = sorted(p for p in directory.iterdir() if p.is_file())
    return [p.name for p in top] + [f"{REPORT_DIR}/{p.name}" for p in nested]


def member_path(directory: Path, name: str) -> Path:
    """`directory / name` for a name from a download list, refusing one that could land outside
    `directory` (absolute, `..`, backslashes, empty parts): the name comes from a server."""
    parts = name.split("/")
    if "\\" in name or "\x00" in name or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"unsafe artifact file name {name!r}")
    return directory.joinpath(*parts)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_manifest(directory: Path, manifest: dict) -> Path:
    """Writes atomically (temp file + rename) so a reader never sees half a manifest."""
    path = directory / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


def read_manifest(directory: Path) -> dict:
    return json.loads((directory / MANIFEST).read_text())


def verify_files(directory: Path, manifest: dict) -> list[str]:
    """Problems found comparing the directory with the manifest's hashes, report files included
    (empty = intact)."""
    problems = []
    listed = {**manifest.get("files", {}), **((manifest.get("report") or {}).get("files") or {})}
    for name, entry in listed.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != entry["size_bytes"]:
            problems.append(f"{name}: size {path.stat().st_size} != {entry['size_bytes']}")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{name}: SHA-256 mismatch")
    return problems
