"""`distill-bridge`: serve, distill (flags or a JSON config), inspect an artifact, demo,
debug-server (the Python Distiller for JVM callers over Py4J).

Exit codes: 0 ok, 1 the job or a check failed, 2 bad input (names the field).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from bridge.errors import DistillError
from bridge.events import Event, LogEvent, StageEvent, ValidationEvent
from bridge.spec import (
    CnnConfig,
    Dataset,
    Gates,
    MlpConfig,
    QuantType,
    SpecError,
    StudentConfig,
    TrainingParams,
    TransformerConfig,
)

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="distill-bridge", description=__doc__.splitlines()[0])
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

    d = sub.add_parser("distill", help="run one distillation (locally or on a server)")
    d.add_argument("--config", type=Path, help="JSON file with the fields below")
    d.add_argument("--teacher")
    d.add_argument("--dataset", help="built-in dataset name")
    d.add_argument("--dataset-path", help="CSV or NPZ file")
    d.add_argument("--label-column", default="label")
    d.add_argument("--mlp", help="MLP student hidden sizes, e.g. 64,32")
    d.add_argument("--cnn", help="CNN student channels, e.g. 16,32")
    d.add_argument("--kernel-size", type=int, default=3)
    d.add_argument(
        "--transformer",
        metavar="L,H,HEADS,FF,MAXLEN",
        help="Transformer student, e.g. 2,384,12,1536,64 (initialised from the "
        "teacher when widths match)",
    )
    d.add_argument("--text-column", help="text column of a CSV/JSONL dataset")
    d.add_argument("--int8", action="store_true")
    for name, typ in (
        ("epochs", int),
        ("batch-size", int),
        ("learning-rate", float),
        ("temperature", float),
        ("alpha", float),
        ("seed", int),
        ("workers", int),
    ):
        d.add_argument(f"--{name}", type=typ)
    d.add_argument("--schedule", choices=("progressive", "constant"), help="default progressive")
    d.add_argument("--fp32-fallback", action="store_true")
    d.add_argument("--remote", metavar="TARGET", help="server address, e.g. localhost:50051")
    d.add_argument("--out", type=Path, required=True, help="where the artifact goes")
    d.set_defaults(run=_distill)

    i = sub.add_parser("inspect", help="verify an artifact directory and print its summary")
    i.add_argument("directory", type=Path)
    i.set_defaults(run=_inspect)

    m = sub.add_parser("demo", help="distill fashion-mnist locally and print the metrics")
    m.add_argument("--out", type=Path, default=Path("demo-artifact"))
    m.set_defaults(run=_demo)
    return p


def _add_java_classpath(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--java-classpath",
        help="java-client jar and its dependencies, ':'-joined, for the in-JVM artifact check "
        "(default: $DISTILL_BRIDGE_JAVA_CLASSPATH, else java-client/target in a checkout); "
        "'' disables the check (reported as skipped)",
    )


def _configure_jvm(args: argparse.Namespace) -> None:
    """Jobs (and the server's worker processes, which inherit the environment) read it."""
    if args.java_classpath is not None:
        from bridge.jvm import ENV_CLASSPATH

        os.environ[ENV_CLASSPATH] = args.java_classpath


def _debug_server(args: argparse.Namespace) -> int:
    from bridge.gateway import start_debug_server
    from bridge.paths import default_home

    _configure_jvm(args)
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


def _serve(args: argparse.Namespace) -> int:
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
    )
    serve(config, args.log_format, args.ready_file)
    return 0


def _distill(args: argparse.Namespace) -> int:
    from bridge.api import Distiller

    cfg = json.loads(args.config.read_text()) if args.config else {}
    opts = {**cfg, **{k: v for k, v in vars(args).items() if v not in (None, False)}}
    student = _student(opts)
    dataset = (
        Dataset.from_path(
            opts["dataset_path"], opts.get("label_column", "label"), opts.get("text_column")
        )
        if "dataset_path" in opts
        else Dataset.builtin(opts.get("dataset", ""))
    )
    params = TrainingParams(
        **{k: opts[k] for k in TrainingParams.__dataclass_fields__ if k in opts}
    )
    distiller = Distiller.remote(opts["remote"]) if "remote" in opts else Distiller()
    with distiller:
        result = (
            distiller.set_teacher(opts.get("teacher", ""))
            .set_student_config(student)
            .enable_quantization(QuantType.INT8 if opts.get("int8") else QuantType.NONE)
            .set_gates(Gates(fp32_fallback=bool(opts.get("fp32_fallback"))))
            .on_event(_print_event)
            .distill(dataset, params)
        )
        out = result.download(args.out)
    _print_metrics(result.metrics)
    print(f"artifact: {out}")
    if result.report_directory is not None:
        print(f"report: {result.report_directory / 'report.md'}")
    return 0


def _student(opts: dict) -> StudentConfig:
    if "transformer" in opts:
        values = _ints(opts["transformer"])
        if len(values) != 5:
            raise SpecError("student.transformer", "expected layers,hidden,heads,ff,max_len")
        return TransformerConfig(*values)
    if "cnn" in opts:
        return CnnConfig(_ints(opts["cnn"]), int(opts.get("kernel_size", 3)))
    return MlpConfig(_ints(opts.get("mlp", "64")))


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
    from bridge.api import Distiller

    result = (
        Distiller()
        .set_teacher("fashion-mnist-small-cnn")  # the Java Quickstart's job (make demo)
        .set_student_config(MlpConfig((64,)))
        .enable_quantization(QuantType.INT8)
        .on_event(_print_event)
        .distill(
            Dataset.builtin("fashion-mnist"),
            TrainingParams(epochs=10, batch_size=256, learning_rate=3e-3, seed=42),
        )
    )
    _print_metrics(result.metrics)
    print(f"artifact: {result.download(args.out)}")
    return 0


def _print_event(event: Event) -> None:
    if isinstance(event, StageEvent):
        print(f"[{event.stage}] {event.message}", flush=True)
    elif isinstance(event, ValidationEvent):
        print(
            f"  epoch {event.epoch}: val accuracy {event.accuracy:.4f}"
            f"{'  (best)' if event.best else ''}",
            flush=True,
        )
    elif isinstance(event, LogEvent):
        print(f"  {event.message}", flush=True)


def _print_metrics(metrics: dict[str, float]) -> None:
    width = max((len(k) for k in metrics), default=0)
    for key in sorted(metrics):
        print(f"  {key:<{width}}  {metrics[key]:.6g}")


def _ints(text: str | list[int]) -> tuple[int, ...]:
    if isinstance(text, list):
        return tuple(int(v) for v in text)
    try:
        return tuple(int(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise SpecError("student", f"expected comma-separated integers, got {text!r}") from None


if __name__ == "__main__":
    sys.exit(main())
