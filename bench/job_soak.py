"""Job soak: a server that cancels, loses workers and deletes for a long time leaves nothing
behind.

N small digits jobs (MLP 32, INT8, the zoo teacher trained before the clock starts; a third of
them self-distilled on an uploaded copy of the data, so uploads are in play) are submitted at
once to a server running 2 at a time. While they run, a share is cancelled at random moments
(queued or running) and a worker is killed with SIGKILL mid-training. Then every finished job and
upload is deleted. Checked at the end, each a failure when it does not hold:

- every job ended as its fate says: cancelled -> CANCELLED; the killed worker's job -> FAILED
  naming the dead worker; the rest SUCCEEDED with an artifact whose files verify (SHA-256);
- no worker, nor anything a worker started (its process group), is alive;
- the data directory matches the records (`bridge.server.audit.disk_audit`): no orphan job or
  upload directory, no worker output or temp file of a finished job, no half-built cache entry;
- nothing new in the system temp directory (workers keep their temp files in the job's
  scratch);
- after the deletes, no job or upload directory is left and the server lists nothing.

    PYTHONPATH=. .venv/bin/python bench/job_soak.py [--jobs 100] [--cancel 0.3] [--kills 1]

Writes bench/results/job_soak.json. tests/test_job_soak.py runs the same soak with 6 jobs.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

CONCURRENT = 2


@dataclass
class Fate:
    cancel_after_s: float | None = None  # cancelled this long after submission
    kill: bool = False  # its worker gets SIGKILL once training runs
    job_id: str = ""
    worker_pids: list[int] = field(default_factory=list)


def _spec(seed: int, upload_id: str | None):
    from bridge import Dataset, Gates, MlpConfig, QuantType, TrainingParams
    from bridge.spec import DistillSpec

    return DistillSpec(
        teacher="self" if upload_id else "digits-mlp",
        student=MlpConfig((32,)),
        dataset=Dataset.uploaded(upload_id) if upload_id else Dataset.builtin("digits"),
        training=TrainingParams(epochs=3, batch_size=64, learning_rate=5e-3, seed=seed),
        quantization=QuantType.INT8,
        # what is soaked is the server, not the student: a 3-epoch MLP may lose INT8 points
        gates=Gates(max_int8_accuracy_drop=0.2, min_retention=0.0),
    )


def soak(
    data_dir: Path, home: Path, jobs: int, cancel_share: float, kills: int, seed: int = 0
) -> dict:
    """Runs the soak on an in-process server; returns what happened and every problem found."""
    from bridge.server import DistillServer, ServerConfig

    _share_zoo(home, data_dir)
    rng = random.Random(seed)
    fates = [Fate() for _ in range(jobs)]
    for fate in rng.sample(fates, round(jobs * cancel_share)):
        fate.cancel_after_s = rng.uniform(0.0, 20.0)
    for fate in rng.sample([f for f in fates if f.cancel_after_s is None], kills):
        fate.kill = True
    temp_before = set(os.listdir(tempfile.gettempdir()))
    server = DistillServer(
        ServerConfig(
            port=0, data_dir=data_dir, max_concurrent_jobs=CONCURRENT, max_queued_jobs=jobs
        )
    ).start()
    start = time.perf_counter()
    try:
        finals = _drive(server, fates, rng)
        problems = _check_outcomes(server, fates, finals)
        problems += _live_processes(fates)
        from bridge.server.audit import disk_audit

        problems += disk_audit(data_dir)
        problems += _delete_everything(server, data_dir)
    finally:
        server.stop(grace=1)
    problems += [
        f"{tempfile.gettempdir()}/{name}: new in the system temp directory"
        for name in sorted(set(os.listdir(tempfile.gettempdir())) - temp_before)
        if name.startswith("quant-")  # what a worker's quantization makes
    ]
    states: dict[str, int] = {}
    for final in finals.values():
        states[final.name] = states.get(final.name, 0) + 1
    return {
        "jobs": jobs,
        "cancelled_on_purpose": sum(f.cancel_after_s is not None for f in fates),
        "workers_killed": kills,
        "final_states": states,
        "wall_s": time.perf_counter() - start,
        "problems": problems,
    }


@dataclass
class _Final:
    name: str
    error: str


def _drive(server, fates: list[Fate], rng: random.Random) -> dict[str, _Final]:
    """Submits every job, cancels and kills as the fates say, waits for all to end."""
    from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
    from bridge.remote import RemoteClient

    with RemoteClient(f"127.0.0.1:{server.port}", plaintext=True) as client:
        upload_id = client.upload_dataset(_digits_npz(server.jobs.paths.data_dir)).upload_id
        for i, fate in enumerate(fates):
            fate.job_id = client.submit(_spec(i, upload_id if i % 3 == 2 else None)).job_id
        submitted = time.perf_counter()
        threads = [
            threading.Thread(target=_meddle, args=(server, client, fate, submitted), daemon=True)
            for fate in fates
            if fate.cancel_after_s is not None or fate.kill
        ]
        for t in threads:
            t.start()
        finals = {}
        for fate in fates:
            final = client.watch(fate.job_id)
            finals[fate.job_id] = _Final(pb.JobState.Name(final.state), final.error)
        for t in threads:
            t.join(timeout=60)
        for fate in fates:  # the server is done with a job once its pump thread ends
            record = server.jobs.get(fate.job_id)
            if record.execution is not None:
                fate.worker_pids.append(record.execution.worker_pid)
            if record.pump is not None:
                record.pump.join(timeout=60)
    return finals


def _meddle(server, client, fate: Fate, submitted: float) -> None:
    if fate.cancel_after_s is not None:
        time.sleep(max(0.0, submitted + fate.cancel_after_s - time.perf_counter()))
        client.cancel_job(fate.job_id)
        return
    while True:  # kill: once its training runs
        record = server.jobs.get(fate.job_id)
        if record.done:
            return
        if record.stage.startswith("train") and record.execution is not None:
            fate.worker_pids.append(record.execution.worker_pid)
            os.kill(record.execution.worker_pid, signal.SIGKILL)
            return
        time.sleep(0.05)


def _check_outcomes(server, fates: list[Fate], finals: dict[str, _Final]) -> list[str]:
    from bridge.export.manifest import read_manifest, verify_files

    problems = []
    for fate in fates:
        final = finals[fate.job_id]
        if fate.cancel_after_s is not None:
            # a cancel that came after the job ended leaves its outcome standing
            if final.name not in ("JOB_STATE_CANCELLED", "JOB_STATE_SUCCEEDED"):
                problems.append(f"{fate.job_id}: cancelled, but ended {final.name}: {final.error}")
        elif fate.kill:
            if final.name != "JOB_STATE_FAILED" or "worker process died" not in final.error:
                problems.append(f"{fate.job_id}: worker killed, but ended {final.name}")
        elif final.name != "JOB_STATE_SUCCEEDED":
            problems.append(f"{fate.job_id}: ended {final.name}: {final.error}")
        if final.name == "JOB_STATE_SUCCEEDED":
            artifact = server.jobs.get(fate.job_id).artifact_dir
            problems += [
                f"{fate.job_id}: {p}" for p in verify_files(artifact, read_manifest(artifact))
            ]
    return problems


def _live_processes(fates: list[Fate]) -> list[str]:
    """Workers, or members of a worker's process group, still alive (zombies excluded)."""
    groups = {pid for fate in fates for pid in fate.worker_pids if pid}
    problems = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, state, pgrp = int(stat.parent.name), fields[0], int(fields[2])
        if state != "Z" and (pid in groups or pgrp in groups):
            problems.append(f"process {pid} (group {pgrp}) outlived its job")
    return problems


def _delete_everything(server, data_dir: Path) -> list[str]:
    from bridge.remote import RemoteClient

    with RemoteClient(f"127.0.0.1:{server.port}", plaintext=True) as client:
        for job in client.list_jobs():
            client.delete_job(job.job_id)
        for upload in client.list_uploads():
            client.delete_upload(upload.upload_id)
        problems = [f"{j.job_id}: still listed after its delete" for j in client.list_jobs()]
        problems += [f"{u.upload_id}: still listed" for u in client.list_uploads()]
    for sub in ("jobs", "uploads"):
        problems += [f"{p}: left after every delete" for p in (data_dir / sub).iterdir()]
    return problems


def _digits_npz(directory: Path) -> Path:
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = directory.parent / f"{directory.name}-digits.npz"
    np.savez(path, x=digits.data.astype(np.float32), y=digits.target)
    return path


def _share_zoo(home: Path, data_dir: Path) -> None:
    """The trained zoo teachers of `home`, linked into the server's data dir."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for entry in home.iterdir() if home.exists() else ():
        if entry.name.startswith(("zoo", "teachers")) and not (data_dir / entry.name).exists():
            (data_dir / entry.name).symlink_to(entry)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=100)
    p.add_argument("--cancel", type=float, default=0.3)
    p.add_argument("--kills", type=int, default=1)
    args = p.parse_args()
    from bridge.data import load_dataset
    from bridge.models.zoo import ZOO
    from bridge.teacher_prep import ensure_zoo_teacher

    home = c.bench_home()
    ensure_zoo_teacher(ZOO["digits-mlp"], load_dataset(_spec(0, None).dataset, None), home)
    with tempfile.TemporaryDirectory(dir=c.workdir()) as tmp:
        result = soak(Path(tmp) / "data", home, args.jobs, args.cancel, args.kills)
    c.finish("job_soak", result, report)
    if result["problems"]:
        sys.exit(1)


def report(result: dict, plots: Path) -> str:
    states = ", ".join(
        f"{k.removeprefix('JOB_STATE_').lower()} {v}" for k, v in result["final_states"].items()
    )
    problems = result["problems"]
    lines = [
        f"{result['jobs']} digits jobs submitted at once, {CONCURRENT} at a time; "
        f"{result['cancelled_on_purpose']} cancelled at random moments, "
        f"{result['workers_killed']} worker(s) killed with SIGKILL mid-training; then every job "
        f"and upload deleted. Wall time {result['wall_s']:.0f} s.",
        "",
        f"- Final states: {states}.",
        f"- Problems found (orphan processes, files without records, temp files, failed "
        f"verifications): **{len(problems)}** (goal: 0)" + (":" if problems else "."),
    ]
    lines += [f"  - {p}" for p in problems[:20]]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
