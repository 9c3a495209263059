"""Builds and runs the gRPC server: DistillerService, health, reflection, clean shutdown."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
from bridge.server.jobs import JobManager, ServerPaths
from bridge.server.servicer import DistillerServicer

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DistillerService"].full_name
# WatchJob streams each hold a thread for their lifetime: size the pool for many watchers.
MAX_RPC_THREADS = 128
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    # Accept client keepalive pings every 20 s (the default rejects anything under 5 min).
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 1),
]


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 50051
    data_dir: Path = Path("distill-data")
    data_root: Path | None = None  # default: <data_dir>/files
    max_concurrent_jobs: int = 1


class DistillServer:
    """A running server. `port` is the bound port (useful with port 0)."""

    def __init__(self, config: ServerConfig) -> None:
        data_dir = config.data_dir.resolve()
        data_root = (config.data_root or data_dir / "files").resolve()
        data_root.mkdir(parents=True, exist_ok=True)
        self.jobs = JobManager(ServerPaths(data_dir, data_root), config.max_concurrent_jobs)
        self.health = health.HealthServicer()
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=MAX_RPC_THREADS), options=CHANNEL_OPTIONS
        )
        pb_grpc.add_DistillerServiceServicer_to_server(DistillerServicer(self.jobs), self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server
        )
        self.port = self.server.add_insecure_port(f"{config.host}:{config.port}")
        if self.port == 0:
            raise OSError(f"cannot bind {config.host}:{config.port}")
        self.host = config.host

    def start(self) -> DistillServer:
        self.server.start()
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self

    def stop(self, grace: float = 5.0) -> None:
        self.health.enter_graceful_shutdown()
        self.jobs.shutdown()
        self.server.stop(grace).wait()

    def wait(self) -> None:
        self.server.wait_for_termination()


def serve(config: ServerConfig) -> None:
    """Runs until SIGINT/SIGTERM; prints one ready line that scripts and tests wait for."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    server = DistillServer(config).start()
    print(f"distill-bridge listening on {server.host}:{server.port}", flush=True)
    stopped = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        logging.getLogger("bridge.server").info("signal %d: shutting down", signum)
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stopped.wait()
    server.stop()
