"""The DDP worker entry point: `python -m bridge.distill.ddp_worker JOB_DIR`, started once per
rank by torch.distributed.run on the job's machine (the local executor). Reads
RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT from the environment the launcher sets."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import torch
import torch.distributed as dist

from bridge.distill.distributed import EVENTS_FILE, RESULT_FILE, event_line, read_job
from bridge.distill.trainer import ddp_backend, train, training_device
from bridge.events import Event


def main(job: Path) -> None:
    device = training_device()  # this rank's GPU (LOCAL_RANK) when CUDA is there, else CPU
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=ddp_backend(device))
    rank = dist.get_rank()
    try:
        spec = read_job(job)
        events = (job / EVENTS_FILE).open("a") if rank == 0 else None

        def on_event(event: Event) -> None:
            if events is not None:
                events.write(event_line(event) + "\n")
                events.flush()

        student = spec["student"]
        outcome = train(
            student,
            spec["train"],
            spec["val"],
            spec["params"],
            on_event,
            feature_loss=spec["feature_loss"],
            self_distill=spec["self_distill"],
        )
        if rank == 0:  # rank 0 writes the result; the job process exports it
            tmp = job / (RESULT_FILE + ".tmp")
            torch.save({"state": student.state_dict(), "outcome": asdict(outcome)}, tmp)
            tmp.rename(job / RESULT_FILE)
            assert events is not None
            events.close()
        dist.barrier()
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
