"""Prometheus counters for the server, in a registry of its own (several servers can live in one
process, as in tests). Exposed over HTTP only when `--metrics-port` is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

# Jobs last seconds to hours.
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, float("inf"))


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.jobs_submitted = Counter(
            "distillbridge_jobs_submitted", "Jobs accepted by SubmitJob.", registry=r
        )
        self.jobs_rejected = Counter(
            "distillbridge_jobs_rejected",
            "SubmitJob calls refused, by gRPC status code.",
            ["code"],
            registry=r,
        )
        self.jobs_finished = Counter(
            "distillbridge_jobs_finished",
            "Jobs that ended, by final state (succeeded, failed, cancelled).",
            ["state"],
            registry=r,
        )
        self.job_failures = Counter(
            "distillbridge_job_failures",
            "Failed jobs, by cause (pipeline, worker_died, interrupted).",
            ["cause"],
            registry=r,
        )
        self.job_duration = Histogram(
            "distillbridge_job_duration_seconds",
            "Wall time from start to end of jobs that ran, by final state.",
            ["state"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.jobs_running = Gauge("distillbridge_jobs_running", "Jobs running now.", registry=r)
        self.jobs_queued = Gauge("distillbridge_jobs_queued", "Jobs waiting to run.", registry=r)
        self.uploads = Counter(
            "distillbridge_uploads",
            "Uploads, by kind and outcome (ok or a status).",
            ["kind", "outcome"],
            registry=r,
        )
        self.upload_bytes = Counter(
            "distillbridge_upload_bytes", "Bytes stored by successful uploads.", registry=r
        )
        self.downloads = Counter(
            "distillbridge_downloads",
            "DownloadArtifact calls, by whether they resumed from an offset > 0.",
            ["resumed"],
            registry=r,
        )
        self.deleted = Counter(
            "distillbridge_deleted",
            "Jobs, uploads and teacher-output cache entries removed, by kind and reason "
            "(request: a Delete call; retention: serve --retain).",
            ["kind", "reason"],
            registry=r,
        )
        self.freed_bytes = Counter(
            "distillbridge_freed_bytes",
            "Disk bytes freed by deletions, by kind.",
            ["kind"],
            registry=r,
        )
        self.mlflow_errors = Counter(
            "distillbridge_mlflow_errors",
            "Jobs whose MLflow tracking failed (serve --mlflow-tracking-uri), by the operation "
            "that failed first; the jobs themselves went on.",
            ["operation"],
            registry=r,
        )
        self.auth_failures = Counter(
            "distillbridge_auth_failures", "Calls refused with UNAUTHENTICATED.", registry=r
        )

    def serve(self, port: int, host: str) -> Any:
        """Starts the /metrics HTTP endpoint; returns the HTTP server (call `.shutdown()`)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (tests and diagnostics); 0 when not yet recorded."""
        return self.registry.get_sample_value(name, labels) or 0.0
