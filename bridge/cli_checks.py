"""The CLI's checks of its own flags and files, run before anything starts: a bad one is a
`SpecError` naming the flag (`--port: ...`), which `cli.main` prints as one line with exit 2.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
from pathlib import Path

from bridge.cache_budget import CacheBudget
from bridge.spec import SpecError
from bridge.tracking import MlflowSettings

MAX_PORT = 65535


def check_serve(args: argparse.Namespace) -> None:
    check_port("--port", args.host, args.port)
    if args.metrics_port is not None:
        check_port("--metrics-port", args.host, args.metrics_port)
        if args.metrics_port and args.metrics_port == args.port:
            raise SpecError("--metrics-port", f"{args.port} is also --port")
    check_creatable_dir("--data-dir", args.data_dir)
    if args.data_root is not None:
        check_existing_dir("--data-root", args.data_root)
    for flag, value, low in (
        ("--max-concurrent-jobs", args.max_concurrent_jobs, 1),
        ("--max-queued-jobs", args.max_queued_jobs, 0),
        ("--max-upload-bytes", args.max_upload_bytes, 1),
        ("--max-message-bytes", args.max_message_bytes, 1024),
        ("--max-student-parameters", args.max_student_parameters, 1),
        ("--min-ping-interval", args.min_ping_interval, 1),
    ):
        if value < low:
            raise SpecError(flag, f"must be >= {low}, got {value}")
    if args.auth_token_file is not None:
        check_readable_file("--auth-token-file", args.auth_token_file)
        if not args.auth_token_file.read_text(errors="replace").strip():
            raise SpecError("--auth-token-file", f"{args.auth_token_file} is empty")
    _check_tls(args)
    _check_executor(args)
    retention_policy(args)
    mlflow_settings(args)
    teacher_cache_budget(args)
    if args.ready_file is not None:
        check_creatable_dir("--ready-file", args.ready_file.parent)


def mlflow_settings(args: argparse.Namespace) -> MlflowSettings | None:
    """--mlflow-tracking-uri and --mlflow-alias, checked (SpecError names the flag)."""
    if args.mlflow_tracking_uri is None:
        if args.mlflow_alias is not None:
            raise SpecError("--mlflow-alias", "needs --mlflow-tracking-uri")
        return None
    if getattr(args, "remote", None) is not None:
        raise SpecError(
            "--mlflow-tracking-uri",
            "a job run with --remote is recorded by its server (serve --mlflow-tracking-uri)",
        )
    settings = MlflowSettings(args.mlflow_tracking_uri, args.mlflow_alias or "")
    settings.check()
    return settings


def retention_policy(args: argparse.Namespace):  # -> RetentionPolicy, imported lazily
    from bridge.server.retention_policy import RetentionPolicy  # imports the whole server

    try:
        return RetentionPolicy.parse(",".join(args.retain))
    except ValueError as e:
        raise SpecError("--retain", str(e)) from None


def teacher_cache_budget(args: argparse.Namespace) -> CacheBudget:
    if args.teacher_cache_budget is None:
        return CacheBudget()
    try:
        return CacheBudget.parse(args.teacher_cache_budget)
    except ValueError as e:
        raise SpecError("--teacher-cache-budget", str(e)) from None


RAY_ONLY_FLAGS = ("ray_address", "ray_cpus", "ray_gpus", "ray_memory_mb", "ray_node_home")


def _check_executor(args: argparse.Namespace) -> None:
    if args.job_retries < 0:
        raise SpecError("--job-retries", f"must be >= 0, got {args.job_retries}")
    if args.executor != "ray":
        for name in RAY_ONLY_FLAGS:
            if getattr(args, name) is not None:
                flag = "--" + name.replace("_", "-")
                raise SpecError(flag, "applies only with --executor ray")
        return
    if not args.ray_address:
        raise SpecError(
            "--ray-address", "--executor ray needs the cluster's address (auto, or HOST:6379)"
        )
    for flag, value, positive in (
        ("--ray-cpus", args.ray_cpus, True),
        ("--ray-gpus", args.ray_gpus, False),
        ("--ray-memory-mb", args.ray_memory_mb, True),
    ):
        if value is not None and (value <= 0 if positive else value < 0):
            raise SpecError(flag, f"must be {'>' if positive else '>='} 0, got {value}")


def _check_tls(args: argparse.Namespace) -> None:
    if (args.tls_cert is None) != (args.tls_key is None):
        missing = "--tls-key" if args.tls_key is None else "--tls-cert"
        raise SpecError(missing, "--tls-cert and --tls-key go together")
    if args.tls_client_ca is not None and args.tls_cert is None:
        raise SpecError("--tls-client-ca", "needs --tls-cert and --tls-key (TLS)")
    for flag, path in (
        ("--tls-cert", args.tls_cert),
        ("--tls-key", args.tls_key),
        ("--tls-client-ca", args.tls_client_ca),
    ):
        if path is not None:
            check_readable_file(flag, path)
            if b"-----BEGIN" not in path.read_bytes()[:65536]:
                raise SpecError(flag, f"{path} is not a PEM file (no -----BEGIN line)")


def check_debug_server(args: argparse.Namespace) -> None:
    check_port("--port", "127.0.0.1", args.port)
    if args.home is not None:
        check_creatable_dir("--home", args.home)
    if args.connection_file is not None:
        check_creatable_dir("--connection-file", args.connection_file.parent)


def check_distill(args: argparse.Namespace) -> None:
    if args.out is None and not args.dry_run:
        raise SpecError("--out", "where the artifact goes is required (or use --dry-run)")
    if args.out is not None:
        check_new_output("--out", args.out)
    if args.remote is not None:
        host, sep, port = args.remote.rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= MAX_PORT:
            raise SpecError("--remote", f"expected HOST:PORT, got {args.remote!r}")
        if args.teacher_cache_budget is not None:
            raise SpecError(
                "--teacher-cache-budget",
                "applies to local runs; a server's is its own (serve --teacher-cache-budget)",
            )
    teacher_cache_budget(args)
    _check_connection(args)
    mlflow_settings(args)


# The connection flags, by the client keyword each sets (bridge.remote.ConnectionOptions).
CONNECTION_FLAGS = {
    "plaintext": "--plaintext",
    "trust_certificate": "--trust-certificate",
    "client_certificate": "--client-certificate",
    "client_key": "--client-key",
    "bearer_token": "--token-file",
    "allow_insecure_token": "--allow-insecure-token",
}


def _check_connection(args: argparse.Namespace) -> None:
    """The client's own checks (bridge.remote), reported by flag: the same rules at each door."""
    from bridge.remote import ConnectionOptions

    given = [
        CONNECTION_FLAGS[k]
        for k in CONNECTION_FLAGS
        if getattr(args, _dest(k)) not in (None, False)
    ]
    if args.remote is None:
        if given:
            raise SpecError(given[0], "configures the connection to a server: needs --remote")
        return
    if args.token_file is not None:
        check_readable_file("--token-file", args.token_file)
        if not args.token_file.read_text(errors="replace").strip():
            raise SpecError("--token-file", f"{args.token_file} is empty")
    options = ConnectionOptions.of(**connection_options(args))
    for flag, message in options.problems(args.remote, CONNECTION_FLAGS):
        raise SpecError(flag, message)


def connection_options(args: argparse.Namespace) -> dict[str, object]:
    """The `Distiller.remote` keywords the flags give; the token is read from --token-file
    (never taken on the command line, where `ps` and shell history show it)."""
    options = {k: getattr(args, _dest(k)) for k in CONNECTION_FLAGS if k != "bearer_token"}
    token_file = args.token_file
    options["bearer_token"] = token_file.read_text(errors="replace").strip() if token_file else None
    return options


def _dest(option: str) -> str:
    return "token_file" if option == "bearer_token" else option


def check_new_output(flag: str, path: Path) -> None:
    """A directory an artifact can be written to: new, under a writable parent."""
    if path.exists():
        raise SpecError(flag, f"{path} already exists; artifacts are never overwritten")
    check_creatable_dir(flag, path.parent)


def check_port(flag: str, host: str, port: int) -> None:
    """In range, and free on `host` (0 = any free port)."""
    if not 0 <= port <= MAX_PORT:
        raise SpecError(flag, f"must be in 0..{MAX_PORT}, got {port}")
    if port == 0:
        return
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise SpecError(flag, f"{host}:{port} is in use{_listener(port)}") from None
        raise SpecError(flag, f"cannot listen on {host}:{port}: {e.strerror or e}") from None


def _listener(port: int) -> str:
    """ " by pid N (command)" for the process listening on `port`, when /proc shows it."""
    inode = _listening_inode(port)
    if inode is None:
        return ""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]" for fd in fds):
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
                return f" by pid {pid} ({cmd.decode(errors='replace')[:80]})"
        except OSError:
            continue
    return ""


def _listening_inode(port: int) -> str | None:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # 0A = LISTEN
                return fields[9]
    return None


def check_readable_file(flag: str, path: Path) -> None:
    if not path.is_file():
        raise SpecError(flag, f"no such file: {path}")
    if not os.access(path, os.R_OK):
        raise SpecError(flag, f"{path} is not readable")


def check_existing_dir(flag: str, path: Path) -> None:
    if not path.is_dir():
        raise SpecError(flag, f"no such directory: {path}")


def check_creatable_dir(flag: str, path: Path) -> None:
    """An existing writable directory, or one whose nearest existing parent is writable."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise SpecError(flag, f"{existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SpecError(flag, f"{existing} is not writable")


__all__ = [
    "CONNECTION_FLAGS",
    "check_debug_server",
    "check_distill",
    "check_new_output",
    "check_port",
    "check_serve",
    "connection_options",
]
