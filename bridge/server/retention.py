"""Bounded disk on a server that runs for months: `serve --retain jobs=7d,uploads=30d,...`
removes finished jobs (record, events, artifact), uploads no job has used for a while, and
teacher-output cache entries no job has read for a while (or, over a size cap, those read least
recently). Off unless asked: a server never deletes
what a user may still want without being told to.

Nothing a queued or running job needs is ever removed: unfinished jobs are skipped, an upload an
unfinished job references is skipped (under the job manager's lock, so a submit cannot claim it
meanwhile), and a cache entry a job holds its lock on is skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from bridge.distill.teacher_cache import remove_unused
from bridge.server.jobs import JobManager, UploadInUse
from bridge.server.retention_policy import RetentionPolicy
from bridge.server.uploads import UploadStore

log = logging.getLogger("bridge.server.retention")


class Retention:
    """Applies a policy now (`sweep`) and every `policy.interval` seconds once started."""

    def __init__(
        self,
        policy: RetentionPolicy,
        jobs: JobManager,
        uploads: UploadStore,
        teacher_cache: Path,
    ) -> None:
        self.policy = policy
        self.jobs = jobs
        self.uploads = uploads
        self.teacher_cache = teacher_cache
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Retention:
        if self.policy.enabled:
            self._thread = threading.Thread(target=self._run, daemon=True, name="retention")
            self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except Exception:  # a failed sweep is logged and tried again; it never stops serving
                log.exception("retention sweep failed")
            self._stop.wait(self.policy.interval)

    def sweep(self, now: float | None = None) -> dict[str, int]:
        """Removes what the policy lets go; returns how many of each kind went."""
        now = time.time() if now is None else now
        return {
            "jobs": self._sweep_jobs(now),
            "uploads": self._sweep_uploads(now),
            "teacher_cache": self._sweep_teacher_cache(now),
        }

    def _sweep_jobs(self, now: float) -> int:
        finished = [j for j in self.jobs.list() if j.done]
        finished.sort(key=lambda j: j.finished or j.created)
        doomed = set()
        if self.policy.max_jobs is not None and len(finished) > self.policy.max_jobs:
            doomed.update(j.job_id for j in finished[: len(finished) - self.policy.max_jobs])
        if self.policy.jobs is not None:
            cutoff = now - self.policy.jobs
            doomed.update(j.job_id for j in finished if (j.finished or j.created) < cutoff)
        removed = 0
        for job_id in doomed:
            try:
                self.jobs.delete(job_id, reason="retention")
                removed += 1
            except KeyError:
                continue  # a DeleteJob call took it first
        return removed

    def _sweep_uploads(self, now: float) -> int:
        if self.policy.uploads is None:
            return 0
        cutoff, removed = now - self.policy.uploads, 0
        for upload in self.uploads.list():
            if upload.last_used_or_created >= cutoff:
                continue
            try:
                self.jobs.delete_upload(upload.upload_id, self.uploads.delete, "retention")
            except (UploadInUse, KeyError):
                continue  # a job needs it (or a Delete call took it first)
            removed += 1
        return removed

    def _sweep_teacher_cache(self, now: float) -> int:
        policy = self.policy
        if policy.teacher_cache is None and policy.teacher_cache_size is None:
            return 0
        removed = remove_unused(
            self.teacher_cache, policy.teacher_cache, now, policy.teacher_cache_size
        )
        for entry, freed in removed:
            self.jobs.metrics.deleted.labels("teacher_cache", "retention").inc()
            self.jobs.metrics.freed_bytes.labels("teacher_cache").inc(freed)
            log.info("teacher-output cache entry removed", extra={"path": str(entry)})
        return len(removed)
