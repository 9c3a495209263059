"""The server's durable state: an embedded SQLite database (`<data-dir>/bridge.db`) holding jobs,
their event logs, the artifact index and the upload index.

Writes happen under the JobManager's lock (one writer); WAL mode keeps each commit cheap and a
`kill -9` of the server leaves the database at its last commit, never half-written.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.server.convert import timestamp

DB_FILE = "bridge.db"
SCHEMA_VERSION = 2  # 2: uploads.last_used

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    spec BLOB NOT NULL,            -- DistillSpec proto, as submitted
    state INTEGER NOT NULL,
    stage TEXT NOT NULL,
    error TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    metrics TEXT NOT NULL,         -- JSON object
    manifest_json TEXT NOT NULL,
    worker_pid INTEGER
);
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    event BLOB NOT NULL,           -- JobEvent proto
    PRIMARY KEY (job_id, sequence)
);
CREATE TABLE IF NOT EXISTS artifacts (
    job_id TEXT NOT NULL,
    name TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (job_id, name)
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    kind INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    path TEXT NOT NULL,            -- the stored file, or the directory a .zip was unpacked into
    extracted INTEGER NOT NULL,
    created REAL NOT NULL,
    last_used REAL                 -- a referencing job's last submit or finish (retention)
);
"""
# Columns added after version 1, for databases created by an older server.
_ADDED_COLUMNS = {("uploads", "last_used"): "REAL"}


@dataclass(frozen=True)
class StoredJob:
    job_id: str
    spec: pb.DistillSpec
    state: int
    stage: str
    error: str
    created: float
    started: float | None
    finished: float | None
    metrics: dict[str, float]
    manifest_json: str
    worker_pid: int | None
    files: list[pb.ArtifactFile]
    events: list[pb.JobEvent]


@dataclass(frozen=True)
class StoredUpload:
    upload_id: str
    kind: int
    file_name: str
    size_bytes: int
    sha256: str
    path: Path
    extracted: bool
    created: float
    last_used: float | None = None

    @property
    def last_used_or_created(self) -> float:
        return self.last_used if self.last_used is not None else self.created

    def to_proto(self, active_job_ids: list[str] | None = None) -> pb.UploadResult:
        return pb.UploadResult(
            upload_id=self.upload_id,
            file_name=self.file_name,
            size_bytes=self.size_bytes,
            sha256=self.sha256,
            kind=self.kind,
            extracted=self.extracted,
            created_at=timestamp(self.created),
            last_used_at=timestamp(self.last_used_or_created),
            active_job_ids=active_job_ids or [],
        )


class Store:
    """Thread-safe (one connection behind a lock)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DB_FILE
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash (not a power cut) without an fsync per
        # event: the right trade for a progress log.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _migrate(self) -> None:
        for (table, column), sql_type in _ADDED_COLUMNS.items():
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------ jobs

    def insert_job(self, job_id: str, spec: pb.DistillSpec, created: float) -> None:
        self._exec(
            "INSERT INTO jobs (job_id, spec, state, stage, error, created, metrics, manifest_json)"
            " VALUES (?, ?, ?, 'queued', '', ?, '{}', '')",
            (job_id, spec.SerializeToString(), pb.JOB_STATE_QUEUED, created),
        )

    def update_job(self, job_id: str, **fields: object) -> None:
        if "metrics" in fields:
            fields["metrics"] = json.dumps(fields["metrics"])
        columns = ", ".join(f"{name} = ?" for name in fields)
        self._exec(f"UPDATE jobs SET {columns} WHERE job_id = ?", (*fields.values(), job_id))

    def append_event(self, event: pb.JobEvent) -> None:
        self._exec(
            "INSERT INTO events (job_id, sequence, event) VALUES (?, ?, ?)",
            (event.job_id, event.sequence, event.SerializeToString()),
        )

    def record_artifacts(self, job_id: str, files: list[pb.ArtifactFile]) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO artifacts (job_id, name, size_bytes, sha256)"
                " VALUES (?, ?, ?, ?)",
                [(job_id, f.name, f.size_bytes, f.sha256) for f in files],
            )

    def delete_job(self, job_id: str) -> None:
        """The job's row, events and artifact index, in one transaction."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            for table in ("events", "artifacts", "jobs"):
                self._db.execute(f"DELETE FROM {table} WHERE job_id = ?", (job_id,))

    def jobs(self) -> Iterator[StoredJob]:
        """Every job with its events and artifact index, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT job_id, spec, state, stage, error, created, started, finished, metrics,"
                " manifest_json, worker_pid FROM jobs ORDER BY created"
            ).fetchall()
            events: dict[str, list[pb.JobEvent]] = {}
            for job_id, blob in self._db.execute(
                "SELECT job_id, event FROM events ORDER BY job_id, sequence"
            ):
                events.setdefault(job_id, []).append(pb.JobEvent.FromString(blob))
            files: dict[str, list[pb.ArtifactFile]] = {}
            for job_id, name, size, sha in self._db.execute(
                "SELECT job_id, name, size_bytes, sha256 FROM artifacts ORDER BY job_id, name"
            ):
                files.setdefault(job_id, []).append(
                    pb.ArtifactFile(name=name, size_bytes=size, sha256=sha)
                )
        for row in rows:
            job_id = row[0]
            yield StoredJob(
                job_id=job_id,
                spec=pb.DistillSpec.FromString(row[1]),
                state=row[2],
                stage=row[3],
                error=row[4],
                created=row[5],
                started=row[6],
                finished=row[7],
                metrics=json.loads(row[8]),
                manifest_json=row[9],
                worker_pid=row[10],
                files=files.get(job_id, []),
                events=events.get(job_id, []),
            )

    # ------------------------------------------------------------ uploads

    def insert_upload(self, upload: StoredUpload) -> None:
        self._exec(
            "INSERT INTO uploads (upload_id, kind, file_name, size_bytes, sha256, path, extracted,"
            " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                upload.upload_id,
                upload.kind,
                upload.file_name,
                upload.size_bytes,
                upload.sha256,
                str(upload.path),
                int(upload.extracted),
                upload.created,
            ),
        )

    def upload(self, upload_id: str) -> StoredUpload | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?", (upload_id,)
            ).fetchone()
        return None if row is None else _stored_upload(row)

    def uploads(self) -> list[StoredUpload]:
        """Every upload, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_UPLOAD_COLUMNS} FROM uploads ORDER BY created"
            ).fetchall()
        return [_stored_upload(row) for row in rows]

    def touch_uploads(self, upload_ids: list[str], when: float) -> int:
        """Marks uploads as used at `when`; returns how many of them exist."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            return sum(
                self._db.execute(
                    "UPDATE uploads SET last_used = MAX(COALESCE(last_used, 0), ?)"
                    " WHERE upload_id = ?",
                    (when, upload_id),
                ).rowcount
                for upload_id in upload_ids
            )

    def delete_upload(self, upload_id: str) -> None:
        self._exec("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))

    # ------------------------------------------------------------ helpers

    def _exec(self, sql: str, params: tuple) -> None:
        with self._lock:
            self._db.execute(sql, params)


_UPLOAD_COLUMNS = (
    "upload_id, kind, file_name, size_bytes, sha256, path, extracted, created, last_used"
)


def _stored_upload(row: tuple) -> StoredUpload:
    return StoredUpload(
        row[0], row[1], row[2], row[3], row[4], Path(row[5]), bool(row[6]), row[7], row[8]
    )
