"""How much a job's teacher-output cache may take: `serve --teacher-cache-budget` and
`Distiller(teacher_cache_budget=...)`. The operator's business, not the job's, so it is not a
spec field. Parsed and checked here with the standard library only (the CLI checks its flags
before anything heavy loads); applied by bridge/distill/teacher_cache.py.

- `disk`: the bytes one job's cache entry may hold. Logits are always cached (a few bytes per
  row); the teacher's hidden states and attention maps are cached when they fit, compactly by
  default, and otherwise recomputed on the fly during training.
- `resident`: how much of the cached feature targets the trainer may memory-map. Mapped pages
  count in the job's RSS; above this figure the trainer reads each batch's rows with pread, so
  only the batch is resident (the kernel's page cache still serves repeated reads).
- `features`: `auto` (compact when it fits, else recompute), `full` (the fp16 layout of old,
  when it fits), `compact` (the same as auto), `recompute` (never cache feature targets).
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.options import format_bytes, parse_pairs, parse_size

FEATURE_MODES = ("auto", "full", "compact", "recompute")
# One job's entry; a demo-size text job (10k tweets, 3 hidden + 2 attention layers) needs
# ~0.6 GB compact, so it caches; 100k longer documents do not, and recompute instead.
DEFAULT_DISK_BYTES = 1024**3
# Above this the trainer reads compact targets per batch (pread): on 3,000 tweets mapping their
# 113 MB raised the training phase's peak RSS by 131 MiB (bench/teacher_cache.py).
DEFAULT_RESIDENT_BYTES = 64 * 1024**2


@dataclass(frozen=True)
class CacheBudget:
    disk_bytes: int = DEFAULT_DISK_BYTES
    resident_bytes: int = DEFAULT_RESIDENT_BYTES
    features: str = "auto"

    def __post_init__(self) -> None:
        if self.disk_bytes < 0 or self.resident_bytes < 0:
            raise ValueError("disk and resident must be >= 0 bytes")
        if self.features not in FEATURE_MODES:
            raise ValueError(
                f"features={self.features!r}: must be one of {', '.join(FEATURE_MODES)}"
            )

    @classmethod
    def parse(cls, text: str) -> CacheBudget:
        """`2GB` (disk only) or `disk=2GB,resident=512MiB,features=compact`. Sizes take B, KB,
        MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024). ValueError names
        the part that is wrong."""
        values = parse_pairs(text, ("disk", "resident", "features"), bare="disk")
        if not values:
            raise ValueError("give a size such as 2GB, or disk=2GB,resident=512MB")
        return cls(
            **{
                {"disk": "disk_bytes", "resident": "resident_bytes"}.get(key, key): (
                    raw if key == "features" else parse_size(key, raw)
                )
                for key, raw in values.items()
            }
        )

    def describe(self) -> str:
        return (
            f"disk {format_bytes(self.disk_bytes)}, resident {format_bytes(self.resident_bytes)}"
            f", features {self.features}"
        )
