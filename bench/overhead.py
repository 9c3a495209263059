"""Overhead of the bridge's server on loopback: artifact download throughput, GetJob latency,
and the latency of an event from the worker to a WatchJob client.

The real server (`python -m bridge serve` on 127.0.0.1, port 0, a temporary data dir as its
home and DISTILL_BRIDGE_HOME) runs one job whose artifact is big enough to time: the digits
task with a wide MLP(4096, 4096) student, ~17M parameters, so student.onnx is ~68 MB. Then:

- download: `RemoteClient.download` (what `DistillationResult.download` runs: chunks to a
  .part file, SHA-256 check, rename) and the raw stub stream (bytes counted, nothing written),
  each repeated; MB/s = 10^6 bytes per second of the largest file.
- GetJob: a few thousand calls on the finished job (whose reply carries metrics and manifest).
- events: `JobEvent.time` is stamped by the server when it appends the event (after the worker
  sent it over a multiprocessing queue); receipt minus that stamp is the server -> client part.
  The worker -> server hop (spawn-context mp.Queue, the `_pump` thread's blocking get) has no
  stamp in the protocol, so it is measured on the same primitives in a second process.

    PYTHONPATH=. .venv/bin/python bench/overhead.py

~3 min on 2 cores; writes bench/results/overhead.json.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import _common as c  # noqa: E402

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb  # noqa: E402
from bridge.events import ProgressEvent  # noqa: E402
from bridge.paths import sha256_file  # noqa: E402

STUDENT_HIDDEN = (4096, 4096)
EPOCHS = 5
DOWNLOADS = 7
GETJOB_CALLS = 3000
QUEUE_EVENTS = 500
GOAL_MB_S = 500.0
SHARED_HOME = Path("/tmp/bhome")  # the digits-mlp teacher is linked from here, not retrained


def main() -> None:
    from bridge.remote import RemoteClient
    from tests.serverkit import start_server

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        os.environ["DISTILL_BRIDGE_HOME"] = str(data_dir)  # the worker inherits it
        # '' turns the in-JVM artifact check off: it would time the JVM, not the bridge
        server = start_server(data_dir, SHARED_HOME, "--java-classpath", "")
        try:
            with RemoteClient(server.target, plaintext=True) as client:  # loopback server
                job_id, events = _run_job(client)
                job = client.get_job(job_id)
                downloads = _downloads(client, job, Path(tmp) / "dl")
                getjob = _getjob(client, job_id)
        finally:
            server.terminate()
    hop = _queue_hop()
    result = {
        "command": "PYTHONPATH=. .venv/bin/python bench/overhead.py",
        "job": {
            "task": f"digits, MLP{STUDENT_HIDDEN} student, {EPOCHS} epochs, no quantization",
            "files": {f.name: f.size_bytes for f in job.result.files},
        },
        "download": downloads,
        "getjob": getjob,
        "events": {"server_to_client": events, "worker_to_server": hop},
        "goal_download_mb_s": GOAL_MB_S,
    }
    print(c.write_result("overhead", result))


def _run_job(client) -> tuple[str, dict]:  # noqa: ANN001
    """Submits the job and follows it on the raw stub, timing each live event's arrival."""
    from bridge.spec import Dataset, DistillSpec, MlpConfig, QuantType, TrainingParams

    spec = DistillSpec(
        teacher="digits-mlp",
        student=MlpConfig(STUDENT_HIDDEN),
        dataset=Dataset.builtin("digits"),
        training=TrainingParams(epochs=EPOCHS, learning_rate=1e-3),
        quantization=QuantType.NONE,
    )
    job_id = client.submit(spec).job_id
    lags: dict[str, list[float]] = {}
    for msg in client.stub.WatchJob(pb.WatchJobRequest(job_id=job_id)):
        received = time.time()
        if msg.sequence == 0:
            continue  # "queued" was appended before the watch began: a replay, not live
        stamped = msg.time.seconds + msg.time.nanos / 1e9
        lags.setdefault(msg.WhichOneof("event"), []).append((received - stamped) * 1e3)
        if msg.HasField("finished"):
            if msg.finished.state != pb.JOB_STATE_SUCCEEDED:
                raise RuntimeError(f"job failed: {msg.finished.error}")
            break
    every = [v for vs in lags.values() for v in vs]
    return job_id, {
        "unit": "ms",
        "count": len(every),
        "by_kind": {k: len(v) for k, v in lags.items()},
        **_percentiles(every),
    }


def _downloads(client, job: pb.Job, directory: Path) -> dict:  # noqa: ANN001
    """The largest file, fetched DOWNLOADS times each way; the median run is the figure."""
    entry = max(job.result.files, key=lambda f: f.size_bytes)
    request = pb.DownloadArtifactRequest(job_id=job.job_id, file_name=entry.name)

    def full() -> float:  # RemoteClient.download: write, hash as it arrives, rename
        target = directory / f"run-{time.perf_counter_ns()}"
        start = time.perf_counter()
        client.download(job.job_id, [entry], target)
        seconds = time.perf_counter() - start
        (target / entry.name).unlink()
        return seconds

    def raw() -> float:
        start = time.perf_counter()
        received = chunks = 0
        for chunk in client.stub.DownloadArtifact(request):
            received += len(chunk.data)
            chunks += 1
        seconds = time.perf_counter() - start
        assert received == entry.size_bytes, (received, entry.size_bytes)
        raw.chunks = chunks  # type: ignore[attr-defined]
        return seconds

    def two_pass() -> float:
        """The client before this benchmark: chunks to a file, then the file read back and
        hashed (bridge.paths.sha256_file) — the same bytes, one more pass."""
        target = directory / "two-pass"
        start = time.perf_counter()
        with target.open("wb") as out:
            for chunk in client.stub.DownloadArtifact(request):
                out.write(chunk.data)
        assert sha256_file(target) == entry.sha256
        seconds = time.perf_counter() - start
        target.unlink()
        return seconds

    full()  # warm-up: channel, page cache on both sides
    runs = {"client": full, "raw_stub": raw, "two_pass": two_pass}
    seconds: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(DOWNLOADS):  # interleaved, so load from other jobs spreads over all three
        for name, fn in runs.items():
            seconds[name].append(fn())
    mb = entry.size_bytes / 1e6
    floor = _local_write_and_hash(client, job, entry, directory)
    return {
        "file": entry.name,
        "size_bytes": entry.size_bytes,
        "chunks": raw.chunks,  # type: ignore[attr-defined]
        **{f"{k}_mb_s": round(mb / statistics.median(v), 1) for k, v in seconds.items()},
        "seconds": {k: sorted(round(s, 4) for s in v) for k, v in seconds.items()},
        **{k: round(mb / v, 1) for k, v in floor.items()},
    }


def _local_write_and_hash(client, job: pb.Job, entry, directory: Path) -> dict:  # noqa: ANN001
    """What the client does besides receiving, without gRPC: SHA-256 of the bytes in memory,
    and writing them in the server's chunk size while hashing. Median of DOWNLOADS runs."""
    local = directory / "probe"
    client.download(job.job_id, [entry], local)
    data = (local / entry.name).read_bytes()
    piece = 256 * 1024

    def write_and_hash() -> None:
        hasher = hashlib.sha256()
        with (local / "copy").open("wb") as out:
            for i in range(0, len(data), piece):
                out.write(data[i : i + piece])
                hasher.update(data[i : i + piece])

    return {
        "sha256_alone_mb_s": statistics.median(
            _time(lambda: hashlib.sha256(data).hexdigest()) for _ in range(DOWNLOADS)
        ),
        "local_write_and_hash_mb_s": statistics.median(
            _time(write_and_hash) for _ in range(DOWNLOADS)
        ),
    }


def _time(fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _getjob(client, job_id: str) -> dict:  # noqa: ANN001
    for _ in range(100):  # warm-up
        client.get_job(job_id)
    times = []
    for _ in range(GETJOB_CALLS):
        start = time.perf_counter()
        client.get_job(job_id)
        times.append((time.perf_counter() - start) * 1e3)
    return {"unit": "ms", "calls": GETJOB_CALLS, **_percentiles(times)}


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": round(ordered[-1], 3)}


# ---------------------------------------------------------------- the worker -> server hop


def _emit(events: mp.Queue, count: int) -> None:
    """A stand-in worker: the pipeline's `on_event` puts ("event", event) on the queue; here
    the send time rides along. Spaced like training progress, so each get finds it idle."""
    event = ProgressEvent(1, 5, 1, 18, 0.5, 0.4, 0.6, 1e-3, 4.0, 0.5)
    for _ in range(count):
        events.put(("event", event, time.time()))
        time.sleep(0.005)
    events.put(("ok", None, time.time()))
    events.close()
    events.join_thread()


def _queue_hop() -> dict:
    """The server side as `JobManager._pump` does it: a spawn-context queue, a blocking get
    with a 0.5 s timeout, one message at a time."""
    ctx = mp.get_context("spawn")
    events: mp.Queue = ctx.Queue()
    worker = ctx.Process(target=_emit, args=(events, QUEUE_EVENTS), daemon=True)
    worker.start()
    lags = []
    while True:
        kind, _payload, sent = events.get(timeout=30)
        lags.append((time.time() - sent) * 1e3)
        if kind != "event":
            break
    worker.join(timeout=10)
    return {"unit": "ms", "count": len(lags), **_percentiles(lags)}


# ---------------------------------------------------------------- report


def report(result: dict, plots: Path) -> str:
    d, g, e = result["download"], result["getjob"], result["events"]
    goal = result["goal_download_mb_s"]
    sc, ws = e["server_to_client"], e["worker_to_server"]
    # receiving and the client's own work (write + hash) run one after the other
    serial = 1 / (1 / d["raw_stub_mb_s"] + 1 / d["local_write_and_hash_mb_s"])
    lines = [
        "## Overhead on loopback",
        "",
        f"One real server, one job ({result['job']['task']}); the downloaded file is "
        f"`{d['file']}`, {d['size_bytes'] / 1e6:.1f} MB in {d['chunks']} chunks of 256 KiB. "
        "Download figures are medians of interleaved runs; MB = 10^6 bytes.",
        "",
        "| measure | figure |",
        "|---|---|",
        f"| download, Python client (write, SHA-256 as it arrives, rename) | "
        f"**{d['client_mb_s']:.0f} MB/s** |",
        f"| download, previous client (write, then re-read to hash) | "
        f"{d['two_pass_mb_s']:.0f} MB/s |",
        f"| download, raw stub stream (bytes counted only) | {d['raw_stub_mb_s']:.0f} MB/s |",
        f"| no network: write 256 KiB pieces + SHA-256 | "
        f"{d['local_write_and_hash_mb_s']:.0f} MB/s |",
        f"| no network: SHA-256 alone | {d['sha256_alone_mb_s']:.0f} MB/s |",
        f"| GetJob latency p50 / p99 ({g['calls']} calls, finished job) | "
        f"{g['p50']:.2f} / {g['p99']:.2f} ms |",
        f"| event, server stamp -> WatchJob client, p50 / p99 ({sc['count']} events) | "
        f"{sc['p50']:.2f} / {sc['p99']:.2f} ms |",
        f"| event, worker -> server queue hop, p50 / p99 ({ws['count']} events) | "
        f"{ws['p50']:.2f} / {ws['p99']:.2f} ms |",
        "",
        f"Goal: artifact download >= {goal:.0f} MB/s on loopback. With the Python client "
        f"**{'met' if d['client_mb_s'] >= goal else 'missed'}** ({d['client_mb_s']:.0f} MB/s, "
        f"{d['client_mb_s'] / goal:.2f}x the goal); the raw gRPC stream "
        f"{'meets' if d['raw_stub_mb_s'] >= goal else 'misses'} it "
        f"({d['raw_stub_mb_s']:.0f} MB/s). The client is "
        f"{d['client_mb_s'] / d['two_pass_mb_s']:.2f}x the previous two-pass client.",
        "",
        "Why the client is slower than the stream: it writes every byte to the .part file "
        f"and hashes it. That work alone (no network) runs at "
        f"{d['local_write_and_hash_mb_s']:.0f} MB/s; strictly one after the other with the "
        f"stream it would give {serial:.0f} MB/s, and the client gets "
        f"{d['client_mb_s']:.0f} MB/s"
        + (
            " (more: gRPC's core reads the socket on its own thread while Python writes and "
            "hashes, so part of the receiving overlaps). "
            if d["client_mb_s"] > serial
            else ". "
        )
        + "The previous client hashed in a second pass over the finished file, re-reading "
        "every byte. Chunk fields are not the cost (the SHA-256 hex and name are ~70 bytes per "
        "256 KiB). "
        "1 MiB chunks were tried while writing this benchmark: no clear change in the raw "
        "stream and perhaps 10-20% for the client, within this machine's noise; the server "
        "keeps 256 KiB, which the dropped-download resume test relies on. The "
        "machine's 2 cores were shared with other jobs (load average well above 2), which "
        "slows every figure here, hashing included.",
        "",
        "`JobEvent.time` is stamped by the server when it appends an event, so the event row "
        "covers the server's append (an SQLite insert), the watcher's wake-up, gRPC and "
        "client decoding. The hop before it, worker process -> server over a "
        "multiprocessing queue, carries no timestamp in the protocol; it is measured on the "
        "same primitives (spawn-context queue, blocking get as in `JobManager._pump`) with "
        "the send time attached. Worker-to-client latency is about the sum of the two.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
