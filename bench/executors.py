"""Executors: what running jobs on Ray costs and gives against the local executor, in one run.

Both servers get the same N small digits jobs (MLP 32, INT8, the zoo teacher trained before
the clock starts), submitted at once:

- `local`: `serve` with the local executor, `--max-concurrent-jobs 2` (this machine's cores);
- `ray`: `serve --executor ray` against a 3-node Ray cluster started here (a head without CPUs
  and two worker nodes of one CPU each), `--max-concurrent-jobs 2`.

The dispatch overhead is the time from SubmitJob to the worker's first stage event (`load`:
the pipeline has started on its node) for the jobs that start at once (the others also wait
in the queue); the throughput is jobs per minute from the
first submit to the last job's end. The two servers run one after the other, twice (local, ray,
local, ray), and each figure pools both rounds; ratios are ray / local. On one machine the
cluster's nodes share its cores, so the throughput ratio shows Ray's overhead, not what more
machines give.

    PYTHONPATH=. .venv/bin/python bench/executors.py [--jobs 6]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

ROUNDS = 2
DEFAULT_JOBS = 6
CONCURRENT = 2  # --max-concurrent-jobs of both servers


def _spec(seed: int):
    from bridge import Dataset, Gates, MlpConfig, QuantType, TrainingParams
    from bridge.spec import DistillSpec

    return DistillSpec(
        teacher="digits-mlp",
        student=MlpConfig((32,)),
        dataset=Dataset.builtin("digits"),
        training=TrainingParams(epochs=4, batch_size=64, learning_rate=5e-3, seed=seed),
        quantization=QuantType.INT8,
        # a 4-epoch MLP on 270 test rows can lose 1.5 points to INT8; the default 1-point gate
        # would fail some jobs, and what is measured here is the executor, not the student
        gates=Gates(max_int8_accuracy_drop=0.05),
    )


def _run_jobs(server, jobs: int) -> dict:
    """Submits `jobs` jobs at once; per-job dispatch seconds and the batch's wall seconds."""
    import grpc

    from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
    from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
    from bridge.wire import spec_to_proto

    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = pb_grpc.DistillerServiceStub(channel)
        start = time.time()
        submitted = {}
        for seed in range(jobs):
            request = pb.SubmitJobRequest(spec=spec_to_proto(_spec(seed)))
            submitted[stub.SubmitJob(request).job_id] = time.time()
        dispatch, states = [], []
        for job_id, at in submitted.items():
            events = list(stub.WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=1800))
            loaded = next(e for e in events if e.HasField("stage") and e.stage.stage == "load")
            dispatch.append(loaded.time.seconds + loaded.time.nanos / 1e9 - at)
            states.append(events[-1].finished.state == pb.JOB_STATE_SUCCEEDED)
        return {"dispatch_s": dispatch, "wall_s": time.time() - start, "succeeded": all(states)}


def _local(directory: Path, jobs: int) -> dict:
    from bridge.server import DistillServer, ServerConfig

    config = ServerConfig(port=0, data_dir=c.bench_home(), max_concurrent_jobs=CONCURRENT)
    server = DistillServer(config).start()
    try:
        return _run_jobs(server, jobs)
    finally:
        server.stop(grace=1)


def _ray(directory: Path, jobs: int, cluster) -> dict:
    from bridge.server import DistillServer, ServerConfig

    config = ServerConfig(
        port=0,
        data_dir=directory / "ray",
        max_concurrent_jobs=CONCURRENT,
        executor="ray",
        ray_address=cluster.address,
        ray_node_home=c.bench_home(),
    )
    server = DistillServer(config).start()
    try:
        return _run_jobs(server, jobs)
    finally:
        server.stop(grace=1)


def _warm_teacher() -> None:
    """The zoo teacher is trained before any clock starts, in the home both executors read."""
    from bridge.data import load_dataset
    from bridge.models.zoo import ZOO
    from bridge.teacher_prep import ensure_zoo_teacher

    dataset = load_dataset(_spec(0).dataset, None)
    ensure_zoo_teacher(ZOO["digits-mlp"], dataset, c.bench_home())


def main() -> None:
    from ray.cluster_utils import Cluster

    jobs = int(sys.argv[sys.argv.index("--jobs") + 1]) if "--jobs" in sys.argv else DEFAULT_JOBS
    _warm_teacher()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    rounds: dict[str, list[dict]] = {"local": [], "ray": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(ROUNDS):
                rounds["local"].append(_local(Path(tmp) / f"r{i}", jobs))
                rounds["ray"].append(_ray(Path(tmp) / f"r{i}", jobs, cluster))
                print(i, {k: v[-1] for k, v in rounds.items()}, flush=True)
    finally:
        cluster.shutdown()
    c.finish("executors", {"jobs": jobs, "rounds": rounds}, report)


def _summary(runs: list[dict], jobs: int) -> dict:
    # the jobs that started at once (the rest also waited in the queue)
    dispatch = [d for r in runs for d in r["dispatch_s"][:CONCURRENT]]
    return {
        "dispatch_median_s": statistics.median(dispatch),
        "jobs_per_min": 60 * jobs * len(runs) / sum(r["wall_s"] for r in runs),
        "succeeded": all(r["succeeded"] for r in runs),
    }


def report(result: dict, plots: Path) -> str:
    jobs = result["jobs"]
    local, ray = (_summary(result["rounds"][k], jobs) for k in ("local", "ray"))
    lines = [
        f"{jobs} digits jobs (MLP 32, INT8) submitted at once, {ROUNDS} alternating rounds per "
        "executor, 2 jobs at a time on each. Ray: a head without CPUs and two 1-CPU worker "
        "nodes on this same machine.",
        "",
        "| executor | dispatch of the jobs that start at once (submit -> pipeline running), "
        "median s | jobs / min | all ok |",
        "|---|---|---|---|",
    ]
    for name, s in (("local", local), ("ray", ray)):
        lines.append(
            f"| {name} | {s['dispatch_median_s']:.1f} | {s['jobs_per_min']:.2f} | "
            f"{'yes' if s['succeeded'] else 'NO'} |"
        )
    lines += [
        "",
        f"Ray / local: dispatch {ray['dispatch_median_s'] / local['dispatch_median_s']:.2f}x, "
        f"throughput {ray['jobs_per_min'] / local['jobs_per_min']:.2f}x. The nodes share this "
        "machine's cores, so the throughput ratio is Ray's overhead; more machines are what "
        "Ray adds, and cannot be measured here.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
