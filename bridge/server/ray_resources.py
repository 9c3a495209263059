"""What each job asks a Ray cluster for (`serve --ray-cpus/--ray-gpus/--ray-memory`). Kept apart
from ray_executor.py so configuring a server never imports Ray."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RayResources:
    """What each job's actor asks Ray for. `memory_bytes` None: no memory reservation."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.cpus <= 0:
            raise ValueError(f"--ray-cpus must be > 0, got {self.cpus}")
        if self.gpus < 0:
            raise ValueError(f"--ray-gpus must be >= 0, got {self.gpus}")
        if self.memory_bytes is not None and self.memory_bytes <= 0:
            raise ValueError(f"--ray-memory must be > 0, got {self.memory_bytes}")

    def actor_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"num_cpus": self.cpus, "num_gpus": self.gpus}
        if self.memory_bytes is not None:
            options["memory"] = self.memory_bytes
        return options
