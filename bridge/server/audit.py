"""What a server's data directory holds, checked against its records: no file without a record,
no record without its files, no worker output or temp files left by a finished job, no half-built
cache entry nobody is building. The job soak (bench/job_soak.py) and the tests run it to prove a
server that cancels, loses workers and deletes leaves nothing behind. Read-only; meant for a
server that is stopped or idle (a running job legitimately has scratch files).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.distill.teacher_cache import TEACHER_CACHE_DIR, key_directory
from bridge.paths import locked_if_free
from bridge.server.jobs import ARTIFACT, JOB_ID
from bridge.server.store import DB_FILE
from bridge.server.uploads import INCOMING, UPLOAD_ID


def disk_audit(data_dir: Path) -> list[str]:
    """One line per problem; empty when the directory matches the records."""
    db = sqlite3.connect(f"file:{data_dir / DB_FILE}?mode=ro", uri=True)
    try:
        jobs = dict(db.execute("SELECT job_id, state FROM jobs"))
        artifacts: dict[str, dict[str, int]] = {}
        for job_id, name, size in db.execute("SELECT job_id, name, size_bytes FROM artifacts"):
            artifacts.setdefault(job_id, {})[name] = size
        uploads = dict(db.execute("SELECT upload_id, path FROM uploads"))
    finally:
        db.close()
    return [
        *_job_problems(data_dir / "jobs", jobs, artifacts),
        *_upload_problems(data_dir / "uploads", uploads),
        *_cache_problems(data_dir / TEACHER_CACHE_DIR),
    ]


def _job_problems(
    root: Path, jobs: dict[str, int], artifacts: dict[str, dict[str, int]]
) -> list[str]:
    problems = []
    for directory in sorted(root.iterdir()) if root.is_dir() else []:
        if not JOB_ID.fullmatch(directory.name):
            continue
        state = jobs.get(directory.name)
        if state is None:
            problems.append(f"{directory}: a job directory without a record")
            continue
        if state in (pb.JOB_STATE_QUEUED, pb.JOB_STATE_RUNNING):
            continue  # its worker may be writing
        for extra in sorted(p.name for p in directory.iterdir() if p.name != ARTIFACT):
            problems.append(f"{directory / extra}: left by the worker of a finished job")
        problems += _artifact_problems(directory / ARTIFACT, state, artifacts.get(directory.name))
    for job_id, state in jobs.items():
        if state == pb.JOB_STATE_SUCCEEDED and not (root / job_id / ARTIFACT).is_dir():
            problems.append(f"{job_id}: succeeded, but its artifact directory is missing")
    return problems


def _artifact_problems(artifact: Path, state: int, recorded: dict[str, int] | None) -> list[str]:
    if state != pb.JOB_STATE_SUCCEEDED:
        return (
            [f"{artifact}: a job that did not succeed has an artifact"] if artifact.exists() else []
        )
    if not artifact.is_dir():
        return []  # reported once, from the records' side
    recorded = recorded or {}
    on_disk = {
        str(p.relative_to(artifact)): p.stat().st_size for p in artifact.rglob("*") if p.is_file()
    }
    problems = [
        f"{artifact / name}: not in the job's file list"
        for name in on_disk.keys() - recorded.keys()
    ]
    problems += [
        f"{artifact / name}: listed but missing" for name in recorded.keys() - on_disk.keys()
    ]
    problems += [
        f"{artifact / name}: {on_disk[name]} bytes, the record says {size}"
        for name, size in recorded.items()
        if name in on_disk and on_disk[name] != size
    ]
    return problems


def _upload_problems(root: Path, uploads: dict[str, str]) -> list[str]:
    problems = []
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if entry.name.startswith(INCOMING):
            problems.append(f"{entry}: an upload that never finished")
        elif UPLOAD_ID.fullmatch(entry.name) and entry.name not in uploads:
            problems.append(f"{entry}: an upload directory without a record")
    problems += [
        f"{upload_id}: recorded, but {path} is missing"
        for upload_id, path in uploads.items()
        if not Path(path).exists()
    ]
    return problems


def _cache_problems(root: Path) -> list[str]:
    problems = []
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if entry.name.endswith(".tmp"):
            with locked_if_free(key_directory(entry)) as free:
                if free:
                    problems.append(f"{entry}: a cache build nobody is running")
    return problems
