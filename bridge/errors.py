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


def first_line(text: str, limit: int = 1000) -> str:
    """The first line of an error's text (at most `limit` characters; "" when it has none):
    errors from libraries often run to many lines, a job's error is one."""
    text = text.strip()
    return text.splitlines()[0][:limit] if text else ""


def one_line(e: BaseException) -> str:
    """`Type: first line of its message` (just `Type` when it has none)."""
    text = first_line(str(e))
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
