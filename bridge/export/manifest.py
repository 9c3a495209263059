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


def file_entries(directory: Path) -> dict[str, dict]:
    """SHA-256 and size of every file in `directory` except the manifest itself."""
    return {
        p.name: {"sha256": sha256_file(p), "size_bytes": p.stat().st_size}
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != MANIFEST
    }


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
    """Problems found comparing the directory with the manifest's hashes (empty = intact)."""
    problems = []
    for name, entry in manifest.get("files", {}).items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != entry["size_bytes"]:
            problems.append(f"{name}: size {path.stat().st_size} != {entry['size_bytes']}")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{name}: SHA-256 mismatch")
    return problems
