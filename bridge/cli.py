"""`distill-bridge`: serve, distill (flags or a JSON config), inspect an artifact, demo,
debug-server (the Python Distiller for JVM callers over Py4J).

Exit codes: 0 ok, 1 the job or a check failed, 2 bad input (names the field).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import NoReturn

from google.protobuf import json_format

from bridge.cli_checks import (
    check_debug_server,
    check_distill,
    check_new_output,
    check_serve,
    connection_options,
    mlflow_settings,
    retention_policy,
    teacher_cache_budget,
)
from bridge.cli_progress import JobPrinter
from bridge.errors import DistillError
from bridge.spec import (
    DEFAULT_MAX_STUDENT_PARAMETERS,
    Dataset,
    DistillSpec,
    MlpConfig,
    QuantType,
    SpecError,
    TrainingParams,
)
from bridge.spec_args import SPEC_FLAGS, parse_spec_args
from bridge.wire import spec_from_proto, spec_to_proto

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2
# The demo's job (`distill-bridge demo`, and the Java Quickstart's defaults for `make demo`);
# `distill --print-config` writes it with every field spelled out.
DEMO_SPEC = DistillSpec(
    teacher="fashion-mnist-small-cnn",
    student=MlpConfig((64,)),
    dataset=Dataset.builtin("fashion-mnist"),
    training=TrainingParams(epochs=10, batch_size=256, learning_rate=3e-3, seed=42),
    quantization=QuantType.INT8,
    name="fashion-mnist-int8-mlp",
)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DistillError as e:
        print(f"failed: {e}", file=sys.stderr)
        return EXIT_FAILED


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (exit 2), like every other bad input here."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="distill-bridge", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="run the gRPC server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=50051, help="0 picks a free port")
    s.add_argument(
        "--data-dir",
        type=Path,
        default=Path("distill-data"),
        help="jobs, artifacts and the zoo teacher cache",
    )
    s.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="user teacher/dataset files must live here (default DATA_DIR/files)",
    )
    s.add_argument("--max-concurrent-jobs", type=int, default=1)
    s.add_argument(
        "--max-queued-jobs", type=int, default=64, help="SubmitJob past this: RESOURCE_EXHAUSTED"
    )
    s.add_argument("--max-upload-bytes", type=int, default=2 * 1024**3)
    s.add_argument(
        "--max-student-parameters",
        type=int,
        default=DEFAULT_MAX_STUDENT_PARAMETERS,
        help="SubmitJob refuses a larger student with RESOURCE_EXHAUSTED",
    )
    s.add_argument(
        "--max-message-bytes", type=int, default=4 * 1024 * 1024, help="largest request message"
    )
    s.add_argument(
        "--auth-token-file",
        type=Path,
        help="require 'authorization: Bearer <token>' on every call but health checks",
    )
    s.add_argument("--tls-cert", type=Path, help="PEM certificate chain; enables TLS")
    s.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    s.add_argument(
        "--tls-client-ca", type=Path, help="require client certificates signed by this PEM CA"
    )
    s.add_argument("--metrics-port", type=int, help="serve Prometheus /metrics on this port")
    s.add_argument(
        "--min-ping-interval",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="clients' keepalive pings may come this often on a quiet connection (both clients "
        "ping every 30 s by default); more often gets GOAWAY too_many_pings",
    )
    s.add_argument(
        "--retain",
        action="append",
        default=[],
        metavar="KEY=VALUE,...",
        help="remove what is no longer needed, e.g. jobs=7d,max-jobs=1000,uploads=30d,"
        "teacher-cache=14d,teacher-cache-size=50GB (finished jobs by age since they ended or by "
        "count, uploads and teacher-output cache entries by age since a job last used them; s, "
        "m, h, d; the cache's total size, the least recently read entries first). Nothing a "
        "queued or running job needs is removed. Default: keep everything",
    )
    s.add_argument(
        "--teacher-cache-budget",
        default=None,
        metavar="SIZE|KEY=VALUE,...",
        help="what one job's teacher-output cache entry may take: a disk size (2GB, 500MiB) or "
        "disk=SIZE,resident=SIZE,features=auto|full|compact|recompute. Logits are always cached; "
        "hidden-state and attention targets are cached compactly when they fit, else recomputed "
        "during training with the teacher kept loaded. Compact targets above `resident` are "
        "read per batch instead of memory-mapped. Default: disk=1GiB,resident=64MiB",
    )
    _add_executor_flags(s)
    _add_mlflow_flags(s, "every job")
    s.add_argument("--log-format", choices=("json", "text"), default="json")
    s.add_argument(
        "--ready-file",
        type=Path,
        help="once the server accepts calls, write {target, host, port, tls, pid, metrics_port} "
        "here as JSON (atomically): what scripts wait for",
    )
    _add_java_classpath(s)
    s.set_defaults(run=_serve)

    g = sub.add_parser(
        "debug-server",
        help="expose the Python Distiller to a JVM over Py4J (loopback, auth token), so Java "
        "code drives local Python and Python breakpoints hit",
    )
    g.add_argument("--port", type=int, default=25334, help="0 picks a free port")
    g.add_argument(
        "--home", type=Path, default=None, help="zoo cache and runs (default: $DISTILL_BRIDGE_HOME)"
    )
    g.add_argument(
        "--connection-file",
        type=Path,
        default=None,
        help="where port and auth token are written, mode 0600 (default HOME/debug-server.json)",
    )
    _add_java_classpath(g)
    g.set_defaults(run=_debug_server)

    d = sub.add_parser(
        "distill",
        help="run one distillation (locally or on a server)",
        description="The job is a DistillSpec: --config FILE (the proto's JSON mapping; "
        "--print-config writes a complete one), then the flags given on the command line, then "
        "each --set, in that order.",
    )
    d.add_argument("--config", type=Path, help="DistillSpec as JSON (see --print-config)")
    for flag in SPEC_FLAGS:
        d.add_argument(f"--{flag.name}", **flag.argparse_kwargs())
    d.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        default=argparse.SUPPRESS,
        help="any DistillSpec field by its proto path, e.g. training.layer_map=1,4 or "
        'gates.min_retention=0.95 or training.schedule_stages=\'[{"name": "kd", '
        '"fraction": 1, "temperatureStart": 4, "temperatureEnd": 1, "alphaStart": 0.9, '
        '"alphaEnd": 0.5}]\'',
    )
    d.add_argument("--remote", metavar="TARGET", help="server address, e.g. localhost:50051")
    _add_connection_flags(d)
    d.add_argument(
        "--dry-run",
        action="store_true",
        help="run every check (on the server with --remote) and print the normalized spec as "
        "JSON instead of training",
    )
    d.add_argument(
        "--print-config",
        action="store_true",
        help="print a complete example config (every field, defaults filled in) and exit",
    )
    d.add_argument("--out", type=Path, help="where the artifact goes (required to train)")
    _add_mlflow_flags(d, "this local run (with --remote: the server's serve flags do it)")
    d.add_argument(
        "--teacher-cache-budget",
        default=None,
        metavar="SIZE|KEY=VALUE,...",
        help="a local run's teacher-output cache budget, as serve --teacher-cache-budget",
    )
    d.set_defaults(run=_distill)

    i = sub.add_parser("inspect", help="verify an artifact directory and print its summary")
    i.add_argument("directory", type=Path)
    i.set_defaults(run=_inspect)

    m = sub.add_parser("demo", help="distill fashion-mnist locally and print the metrics")
    m.add_argument("--out", type=Path, default=Path("demo-artifact"))
    m.set_defaults(run=_demo)
    return p


def _add_connection_flags(p: argparse.ArgumentParser) -> None:
    """How --remote connects, named like the Python client's keywords (and the Java builder)."""
    c = p.add_argument_group(
        "connection (with --remote; TLS with gRPC's default roots unless --plaintext)"
    )
    c.add_argument(
        "--plaintext",
        action="store_true",
        help="no TLS: for a server without --tls-cert (e.g. on localhost)",
    )
    c.add_argument(
        "--trust-certificate",
        type=Path,
        metavar="PEM",
        help="trust this CA or self-signed certificate",
    )
    c.add_argument(
        "--client-certificate",
        type=Path,
        metavar="PEM",
        help="present this certificate (a server with --tls-client-ca); needs --client-key",
    )
    c.add_argument("--client-key", type=Path, metavar="PEM", help="the key of --client-certificate")
    c.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="send the bearer token in FILE (the server's --auth-token-file); only over TLS "
        "unless --allow-insecure-token",
    )
    c.add_argument(
        "--allow-insecure-token",
        action="store_true",
        help="send the token over --plaintext too, readable by anyone on the path (loopback only)",
    )


def _add_java_classpath(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--java-classpath",
        help="java-client jar and its dependencies, ':'-joined, for the in-JVM artifact check "
        "(default: $DISTILL_BRIDGE_JAVA_CLASSPATH, else java-client/client/target in a checkout); "
        "'' disables the check (reported as skipped)",
    )


def _configure_jvm(args: argparse.Namespace) -> None:
    """Jobs (and the server's worker processes, which inherit the environment) read it."""
    if args.java_classpath is not None:
        from bridge.jvm import ENV_CLASSPATH

        os.environ[ENV_CLASSPATH] = args.java_classpath


def _debug_server(args: argparse.Namespace) -> int:
    check_debug_server(args)
    from bridge.gateway import start_debug_server
    from bridge.paths import default_home

    _configure_jvm(args)
    # Job failures are logged with their stack (the caller gets one line in FinishedEvent).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    home = args.home or default_home()
    server = start_debug_server(home, args.port, args.connection_file or home / "debug-server.json")
    print(
        f"distill-bridge debug-server listening on 127.0.0.1:{server.port} "
        f"(auth token in {server.connection_file})",
        flush=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    return 0


def _add_executor_flags(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where jobs run: worker processes on this machine, or actors on a Ray cluster",
    )
    s.add_argument(
        "--ray-address", help="the Ray cluster (with --executor ray): auto, or HEAD_HOST:6379"
    )
    s.add_argument("--ray-cpus", type=float, help="CPUs each job asks Ray for (default 1)")
    s.add_argument("--ray-gpus", type=float, help="GPUs each job asks Ray for (default 0)")
    s.add_argument("--ray-memory-mb", type=int, help="memory each job reserves on its Ray node")
    s.add_argument(
        "--ray-node-home",
        type=Path,
        help="zoo teacher cache on each Ray node (default: the node's DISTILL_BRIDGE_HOME or "
        "~/.cache/distill-bridge)",
    )
    s.add_argument(
        "--job-retries",
        type=int,
        default=0,
        help="start a job again this many times when its worker dies or its node is lost",
    )


def _ray_resources(args: argparse.Namespace):  # -> RayResources, imported lazily
    from bridge.server.ray_resources import RayResources

    memory = args.ray_memory_mb * 1024 * 1024 if args.ray_memory_mb else None
    return RayResources(
        cpus=1.0 if args.ray_cpus is None else args.ray_cpus,
        gpus=0.0 if args.ray_gpus is None else args.ray_gpus,
        memory_bytes=memory,
    )


def _add_mlflow_flags(p: argparse.ArgumentParser, what: str) -> None:
    g = p.add_argument_group("MLflow (credentials: MLFLOW_TRACKING_USERNAME/_PASSWORD/_TOKEN)")
    g.add_argument(
        "--mlflow-tracking-uri",
        metavar="URI",
        help=f"record {what} as an MLflow run, e.g. http://mlflow.internal:5000; an artifact "
        "that passes its gates becomes a version of the registered model registered_model_name "
        "(else the spec's name)",
    )
    g.add_argument(
        "--mlflow-alias",
        metavar="ALIAS",
        help="a new version takes this alias (e.g. champion) when its test accuracy beats the "
        "version holding it, on the same test split",
    )


def _serve(args: argparse.Namespace) -> int:
    check_serve(args)
    from bridge.server import ServerConfig, serve

    _configure_jvm(args)
    config = ServerConfig(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        data_root=args.data_root,
        max_concurrent_jobs=args.max_concurrent_jobs,
        max_queued_jobs=args.max_queued_jobs,
        max_upload_bytes=args.max_upload_bytes,
        max_message_bytes=args.max_message_bytes,
        auth_token_file=args.auth_token_file,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_client_ca=args.tls_client_ca,
        metrics_port=args.metrics_port,
        max_student_parameters=args.max_student_parameters,
        executor=args.executor,
        ray_address=args.ray_address,
        ray_resources=_ray_resources(args),
        ray_node_home=args.ray_node_home,
        job_retries=args.job_retries,
        retention=retention_policy(args),
        teacher_cache_budget=teacher_cache_budget(args),
        min_ping_interval_s=args.min_ping_interval,
        mlflow=mlflow_settings(args),
    )
    serve(config, args.log_format, args.ready_file)
    return 0


def _distill(args: argparse.Namespace) -> int:
    """The CLI door: config file and flags -> DistillSpec -> check -> run."""
    from bridge.api import Distiller

    if args.print_config:
        print(json_format.MessageToJson(spec_to_proto(DEMO_SPEC)))
        return 0
    check_distill(args)
    spec = spec_from_proto(parse_spec_args(args))
    distiller = (
        Distiller.remote(args.remote, **connection_options(args))
        if args.remote
        else Distiller(**_mlflow_options(args), teacher_cache_budget=teacher_cache_budget(args))
    )
    with distiller:
        if args.dry_run:
            checked = distiller.check_spec(spec)
            print(json_format.MessageToJson(spec_to_proto(checked)))
            return 0
        with JobPrinter() as printer:
            result = distiller.on_event(printer).run_spec(spec)
        out = result.download(args.out)
    _print_metrics(result.metrics)
    if result.mlflow_run is not None:
        print(f"mlflow run: {result.mlflow_run.run_url or result.mlflow_run.run_id}")
    print(f"artifact: {out}")
    if result.report_directory is not None:
        print(f"report: {result.report_directory / 'report.md'}")
    return 0


def _mlflow_options(args: argparse.Namespace) -> dict[str, str]:
    settings = mlflow_settings(args)
    if settings is None:
        return {}
    return {"mlflow_tracking_uri": settings.tracking_uri, "mlflow_alias": settings.alias}


def _inspect(args: argparse.Namespace) -> int:
    from bridge.export.manifest import read_manifest, verify_files
    from bridge.export.verify import replay_golden_vectors

    if not (args.directory / "manifest.json").is_file():
        raise SpecError("directory", f"{args.directory} has no manifest.json")
    manifest = read_manifest(args.directory)
    problems = verify_files(args.directory, manifest)
    for name, gv in manifest.get("golden_vectors", {}).items():
        if (args.directory / name).is_file():
            diff = replay_golden_vectors(args.directory / name, gv)
            print(f"{name}: golden vectors max abs diff {diff:.3g} (atol {gv['atol']})")
            if diff > gv["atol"]:
                problems.append(f"{name}: golden vectors differ by {diff:.3g}")
    print(
        f"job {manifest['job_id']}  labels {manifest['labels']}  "
        f"input {manifest['input']['shape']}  opset {manifest['opset']}"
    )
    _print_metrics(manifest.get("metrics", {}))
    for p in problems:
        print(f"PROBLEM: {p}", file=sys.stderr)
    return EXIT_FAILED if problems else 0


def _demo(args: argparse.Namespace) -> int:
    check_new_output("--out", args.out)
    from bridge.api import Distiller

    with JobPrinter() as printer:
        result = Distiller().on_event(printer).run_spec(DEMO_SPEC)
    _print_metrics(result.metrics)
    print(f"artifact: {result.download(args.out)}")
    return 0


def _print_metrics(metrics: dict[str, float]) -> None:
    width = max((len(k) for k in metrics), default=0)
    for key in sorted(metrics):
        print(f"  {key:<{width}}  {metrics[key]:.6g}")


if __name__ == "__main__":
    sys.exit(main())
