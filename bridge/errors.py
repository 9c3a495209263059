"""Errors shared by every layer. `SpecError` (bridge.spec) covers bad requests; these cover
what goes wrong once a valid job runs."""

from __future__ import annotations


class DistillError(RuntimeError):
    """A job failed. The message says which step and why; doors report it verbatim.
    `code` is the gRPC status name when the failure came over the wire."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class GateError(DistillError):
    """A verification gate refused the artifact (parity, INT8 accuracy drop, retention)."""

    def __init__(self, gate: str, measured: float, limit: float, detail: str = "") -> None:
        self.gate, self.measured, self.limit = gate, measured, limit
        msg = f"gate {gate} failed: measured {measured:.6g}, limit {limit:.6g}"
        super().__init__(f"{msg} ({detail})" if detail else msg)


class JobCancelled(DistillError):
    """The caller cancelled the job."""
