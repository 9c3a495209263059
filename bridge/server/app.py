"""Builds and runs the gRPC server: DistillerService, health, reflection, the bearer-token guard,
TLS, the SQLite store, Prometheus metrics and a clean SIGTERM."""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import signal
import threading
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
from bridge.cache_budget import CacheBudget
from bridge.distill.teacher_cache import TEACHER_CACHE_DIR
from bridge.paths import trust_directory
from bridge.server import logs
from bridge.server.executors import Executor, LocalExecutor
from bridge.server.guard import GuardInterceptor
from bridge.server.jobs import JobLimits, JobManager, ServerPaths
from bridge.server.metrics import Metrics
from bridge.server.ray_resources import RayResources
from bridge.server.retention import Retention
from bridge.server.retention_policy import RetentionPolicy
from bridge.server.servicer import DistillerServicer
from bridge.server.store import Store
from bridge.server.uploads import UploadLimits, UploadStore
from bridge.spec import DEFAULT_MAX_STUDENT_PARAMETERS
from bridge.tracking import MlflowSettings

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DistillerService"].full_name
# WatchJob streams each hold a thread for their lifetime: size the pool for many watchers.
MAX_RPC_THREADS = 128
# Job results carry the manifest (golden vectors) inline; clients accept 64 MiB.
MAX_SEND_MESSAGE_BYTES = 64 * 1024 * 1024
log = logging.getLogger("bridge.server")


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 50051
    data_dir: Path = Path("distill-data")
    data_root: Path | None = None  # default: <data_dir>/files
    max_concurrent_jobs: int = 1
    max_queued_jobs: int = 64
    max_upload_bytes: int = 2 * 1024**3
    # Largest request message; uploads stream 256 KiB chunks, so 4 MiB is ample.
    max_message_bytes: int = 4 * 1024 * 1024
    auth_token_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None  # set: clients must present a certificate it signed
    metrics_port: int | None = None
    grace_seconds: float = 5.0
    # SubmitJob refuses a larger student (RESOURCE_EXHAUSTED) before a worker starts.
    max_student_parameters: int | None = DEFAULT_MAX_STUDENT_PARAMETERS
    # Where workers run: "local" (spawned processes here) or "ray" (actors on a Ray cluster).
    executor: str = "local"
    ray_address: str | None = None  # e.g. "auto", "10.0.0.5:6379"; required with "ray"
    ray_resources: RayResources = field(default_factory=RayResources)
    ray_node_home: Path | None = None  # zoo teacher cache on each node (default: its own)
    job_retries: int = 0  # starts again after a lost worker or node
    # Clients may send keepalive pings this often on a quiet connection (both clients default to
    # 30 s; the Java builder refuses less than 20 s). More often: GOAWAY "too_many_pings".
    min_ping_interval_s: float = 20.0
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)  # default: keep all
    mlflow: MlflowSettings | None = None  # every job an MLflow run (--mlflow-tracking-uri)
    # One job's teacher-output cache entry (disk, resident); feature targets beyond it are
    # recomputed during training.
    teacher_cache_budget: CacheBudget = field(default_factory=CacheBudget)

    def make_executor(self, paths: ServerPaths) -> Executor:
        if self.executor == "local":
            return LocalExecutor(paths)
        if self.executor != "ray":
            raise ValueError(f"--executor must be local or ray, got {self.executor!r}")
        if not self.ray_address:
            raise ValueError("--executor ray needs --ray-address (e.g. auto, or HOST:6379)")
        from bridge.server.ray_executor import RayExecutor  # Ray is imported only when used

        return RayExecutor(
            self.ray_address,
            paths.data_root,
            self.ray_resources,
            self.ray_node_home,
            self.teacher_cache_budget,
        )

    def token(self) -> str | None:
        if self.auth_token_file is None:
            return None
        token = self.auth_token_file.read_text().strip()
        if not token:
            raise ValueError(f"--auth-token-file {self.auth_token_file} is empty")
        return token

    def credentials(self) -> grpc.ServerCredentials | None:
        if self.tls_cert is None and self.tls_key is None:
            if self.tls_client_ca is not None:
                raise ValueError("--tls-client-ca needs --tls-cert and --tls-key")
            return None
        if self.tls_cert is None or self.tls_key is None:
            raise ValueError("--tls-cert and --tls-key go together")
        ca = self.tls_client_ca.read_bytes() if self.tls_client_ca else None
        return grpc.ssl_server_credentials(
            [(self.tls_key.read_bytes(), self.tls_cert.read_bytes())],
            root_certificates=ca,
            require_client_auth=ca is not None,
        )


class DistillServer:
    """A running server. `port` is the bound port (useful with port 0)."""

    def __init__(self, config: ServerConfig) -> None:
        data_dir = config.data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        data_root = (config.data_root or data_dir / "files").resolve()
        data_root.mkdir(parents=True, exist_ok=True)
        paths = ServerPaths(data_dir, data_root, config.teacher_cache_budget)
        trust_directory(paths.uploads)
        self.config = config
        self.metrics = Metrics()
        self.store = Store(data_dir)
        self.uploads = UploadStore(
            paths.uploads, self.store, UploadLimits(max_upload_bytes=config.max_upload_bytes)
        )
        self.jobs = JobManager(
            paths,
            self.store,
            JobLimits(config.max_concurrent_jobs, config.max_queued_jobs, config.job_retries),
            self.metrics,
            prepare=self.uploads.resolve,
            executor=config.make_executor(paths),
            tracking=config.mlflow,
        )
        self.retention = Retention(
            config.retention, self.jobs, self.uploads, paths.home / TEACHER_CACHE_DIR
        )
        self.health = health.HealthServicer()
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=MAX_RPC_THREADS),
            interceptors=[GuardInterceptor(config.token(), self.metrics)],
            options=[
                ("grpc.max_send_message_length", MAX_SEND_MESSAGE_BYTES),
                ("grpc.max_receive_message_length", config.max_message_bytes),
                # C-core's GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS (its default,
                # 5 min, answers a client's 30 s keepalive with GOAWAY too_many_pings)
                (
                    "grpc.http2.min_ping_interval_without_data_ms",
                    round(config.min_ping_interval_s * 1000),
                ),
                ("grpc.keepalive_permit_without_calls", 1),
            ],
        )
        servicer = DistillerServicer(self.jobs, self.uploads, config.max_student_parameters)
        pb_grpc.add_DistillerServiceServicer_to_server(servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server
        )
        address = f"{config.host}:{config.port}"
        credentials = config.credentials()
        self.tls = credentials is not None
        if credentials is None:
            self.port = self.server.add_insecure_port(address)
        else:
            self.port = self.server.add_secure_port(address, credentials)
        if self.port == 0:
            raise OSError(f"cannot bind {address}")
        self.host = config.host
        self._metrics_http = None
        self.metrics_port: int | None = None
        if config.metrics_port is not None:
            self._metrics_http = self.metrics.serve(config.metrics_port, config.host)
            self.metrics_port = self._metrics_http.server_port

    def start(self) -> DistillServer:
        self.server.start()
        self.retention.start()
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self

    def stop(self, grace: float | None = None) -> None:
        """Stops accepting, records job states (running -> FAILED, queued stay queued), ends
        open WatchJob streams with UNAVAILABLE and gives other calls `grace` seconds."""
        self.health.enter_graceful_shutdown()
        self.retention.close()
        self.jobs.shutdown()
        self.server.stop(self.config.grace_seconds if grace is None else grace).wait()
        if self._metrics_http is not None:
            self._metrics_http.shutdown()
        self.store.close()

    def wait(self) -> None:
        self.server.wait_for_termination()


def write_ready_file(path: Path, server: DistillServer) -> None:
    """{"target", "host", "port", "tls", "pid", "metrics_port"}: written to a temporary name and
    renamed, so a reader that sees the file sees all of it. Scripts and tests poll for it
    instead of parsing log lines, whose wording may change."""
    info = {
        "target": f"{server.host}:{server.port}",
        "host": server.host,
        "port": server.port,
        "tls": server.tls,
        "pid": os.getpid(),
        "metrics_port": server.metrics_port,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(info) + "\n")
    os.replace(partial, path)


def serve(config: ServerConfig, log_format: str = "json", ready_file: Path | None = None) -> None:
    """Runs until SIGINT/SIGTERM. Once it accepts calls it prints a line for people and, with
    `ready_file`, writes the JSON that programs wait for (`write_ready_file`)."""
    logs.configure(log_format)
    # A crash in native code (gRPC, torch, Ray's core worker) leaves the Python stacks in the log.
    faulthandler.enable()
    server = DistillServer(config).start()
    scheme = "tls" if server.tls else "plaintext"
    print(f"distill-bridge listening on {server.host}:{server.port} ({scheme})", flush=True)
    if server.metrics_port is not None:
        print(f"metrics on http://{server.host}:{server.metrics_port}/metrics", flush=True)
    if ready_file is not None:
        write_ready_file(ready_file, server)
    stopped = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("shutting down", extra={"signal": signal.Signals(signum).name})
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stopped.wait()
    server.stop()
    if ready_file is not None:
        ready_file.unlink(missing_ok=True)  # a stale file would point at a dead server
    log.info("stopped cleanly")
