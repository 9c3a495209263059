"""Test helpers for servers run as real processes: start `python -m bridge serve` from this
checkout, make throwaway TLS certificates with the openssl CLI, and a TCP proxy that cuts a
connection after a number of bytes (a dropped connection, for resume tests)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ServerProcess:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self, timeout: float = 60) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def start_server(
    data_dir: Path, home: Path, *extra: str, log_name: str = "server.log"
) -> ServerProcess:
    """Starts the server from this checkout on a free loopback port and waits for its ready
    file. `home` is used as the data dir's zoo cache by linking the cached teachers in."""
    data_dir.mkdir(parents=True, exist_ok=True)
    share_zoo_cache(home, data_dir)
    log = data_dir.parent / f"{data_dir.name}-{log_name}"
    ready = data_dir.parent / f"{data_dir.name}-{log_name}.ready.json"
    ready.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "bridge", "serve", "--host", "127.0.0.1", "--port", "0"]
    cmd += ["--data-dir", str(data_dir), "--ready-file", str(ready), *extra]
    out = log.open("ab")
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while not ready.is_file():
        if process.poll() is not None:
            raise AssertionError(f"server exited ({process.returncode}): {log.read_text()[-3000:]}")
        assert time.time() < deadline, f"server did not start: {log.read_text()[-3000:]}"
        time.sleep(0.1)
    info = json.loads(ready.read_text())
    assert info["pid"] == process.pid
    return ServerProcess(process, int(info["port"]), log)


def children(pid: int) -> list[int]:
    """The pids whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pid: int, limit: float = 30) -> None:
    """Waits until `pid` has exited (a zombie counts as gone)."""
    deadline = time.time() + limit
    while alive(pid):
        assert time.time() < deadline, f"process {pid} is still alive"
        time.sleep(0.2)


def share_zoo_cache(home: Path, data_dir: Path) -> None:
    """Links the session's trained zoo teachers into a fresh data dir (no retraining)."""
    for entry in home.iterdir() if home.exists() else ():
        if entry.name.startswith(("zoo", "teachers")) and not (data_dir / entry.name).exists():
            (data_dir / entry.name).symlink_to(entry)


# ---------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_certs(directory: Path) -> Certs:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate;
    made at test time with the openssl CLI, never committed."""
    directory.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, cn in (("server", "localhost"), ("client", "test-client")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr")  # fmt: skip
        ext = ["-extfile", "san.ext"] if name == "server" else []
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *ext)  # fmt: skip
    return Certs(
        directory / "ca.pem",
        directory / "server.pem",
        directory / "server.key",
        directory / "client.pem",
        directory / "client.key",
    )


# ---------------------------------------------------------------- a proxy that drops connections


@dataclass
class CuttingProxy:
    """Forwards 127.0.0.1:<port> to a server. The first `cut_connections` connections are
    closed once `cut_after` bytes have gone from the server to the client."""

    upstream_port: int
    cut_after: int
    cut_connections: int = 1
    connections: int = 0
    downstream_bytes: list[int] = field(default_factory=list)
    _listener: socket.socket = field(init=False)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            index = self.connections
            self.connections += 1
            self.downstream_bytes.append(0)
            limit = self.cut_after if index < self.cut_connections else None
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(
                target=self._pipe, args=(client, upstream, None, None), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(upstream, client, limit, index), daemon=True
            ).start()

    def _pipe(
        self, src: socket.socket, dst: socket.socket, limit: int | None, index: int | None
    ) -> None:
        sent = 0
        try:
            while data := src.recv(65536):
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: limit - sent])
                    break
                dst.sendall(data)
                sent += len(data)
                if index is not None:
                    self.downstream_bytes[index] = sent
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


# ---------------------------------------------------------------- uploads


def upload_chunks(
    data: bytes,
    name: str = "data.csv",
    *,
    declared_size: int | None = None,
    sha256: str | None = None,
    kind: int = pb.UPLOAD_KIND_UNSPECIFIED,
    chunk: int = 64 * 1024,
) -> Iterator[pb.UploadChunk]:
    meta = pb.UploadMetadata(
        file_name=name,
        total_size=len(data) if declared_size is None else declared_size,
        sha256=sha256 if sha256 is not None else hashlib.sha256(data).hexdigest(),
        kind=kind,
    )
    yield pb.UploadChunk(metadata=meta)
    for i in range(0, len(data), chunk):
        yield pb.UploadChunk(data=data[i : i + chunk])


# ---------------------------------------------------------------- executors


class EndlessWorkers:
    """A job executor whose workers run until stopped and never say anything: a job that stays
    RUNNING, quietly, without a process."""

    name = "endless"

    def start(self, *args: object) -> EndlessWorker:
        return EndlessWorker()

    def close(self) -> None:
        pass


class EndlessWorker:
    where, worker_pid = "nowhere", None

    def __init__(self) -> None:
        self.stopped = False

    def next_message(self, timeout: float) -> None:
        time.sleep(timeout)

    def alive(self) -> bool:
        return not self.stopped

    def failure(self) -> str:
        return "stopped"

    def collect(self, staging: Path) -> None:
        pass

    def stop(self) -> None:
        self.stopped = True
