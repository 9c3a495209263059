"""The gRPC client behind `Distiller.remote(...)`: submit, watch (resuming a dropped stream),
download (resuming from an offset, verifying SHA-256), catalogues.

Server errors come back as the same exceptions a local run raises: `SpecError` for
INVALID_ARGUMENT / NOT_FOUND (the field is parsed from the message), `DistillError` with the
status name in `.code` for the rest.
"""

from __future__ import annotations

import time
from pathlib import Path

import grpc

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
from bridge.errors import DistillError
from bridge.events import EventSink, event_from_proto, ignore_events
from bridge.paths import sha256_file
from bridge.spec import DistillSpec, SpecError, spec_to_proto

RETRIES = 5
RETRY_BACKOFF_SECONDS = 0.5
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_permit_without_calls", 1),
]


class RemoteClient:
    """Owns its channel unless one is passed in. Use as a context manager or call `close()`."""

    def __init__(
        self, target: str, *, timeout: float | None = None, channel: grpc.Channel | None = None
    ) -> None:
        self._owns_channel = channel is None
        self.channel = channel or grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
        self.stub = pb_grpc.DistillerServiceStub(self.channel)
        self.timeout = timeout
        self.target = target

    def close(self) -> None:
        if self._owns_channel:
            self.channel.close()

    def __enter__(self) -> RemoteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ jobs

    def submit(self, spec: DistillSpec) -> pb.Job:
        request = pb.SubmitJobRequest(spec=spec_to_proto(spec))
        return self._call(self.stub.SubmitJob, request)

    def get_job(self, job_id: str) -> pb.Job:
        return self._call(self.stub.GetJob, pb.GetJobRequest(job_id=job_id))

    def list_jobs(self) -> list[pb.Job]:
        return list(self._call(self.stub.ListJobs, pb.ListJobsRequest()).jobs)

    def cancel_job(self, job_id: str) -> pb.Job:
        return self._call(self.stub.CancelJob, pb.CancelJobRequest(job_id=job_id))

    def list_teachers(self) -> list[pb.TeacherInfo]:
        return list(self._call(self.stub.ListTeachers, pb.ListTeachersRequest()).teachers)

    def list_datasets(self) -> list[pb.DatasetInfo]:
        return list(self._call(self.stub.ListDatasets, pb.ListDatasetsRequest()).datasets)

    def watch(self, job_id: str, on_event: EventSink = ignore_events) -> pb.FinishedEvent:
        """Follows the job to its end, re-attaching after a dropped stream without repeating
        events; returns the final event."""
        next_seq, failures = 0, 0
        while True:
            try:
                for msg in self.stub.WatchJob(
                    pb.WatchJobRequest(job_id=job_id, from_sequence=next_seq)
                ):
                    next_seq, failures = msg.sequence + 1, 0
                    if msg.HasField("finished"):
                        return msg.finished
                    event = event_from_proto(msg)
                    if event is not None:
                        on_event(event)
                raise DistillError(
                    f"watch of {job_id} ended before the job finished", "UNAVAILABLE"
                )
            except grpc.RpcError as e:
                failures += 1
                if e.code() != grpc.StatusCode.UNAVAILABLE or failures > RETRIES:
                    raise translate(e) from None
                time.sleep(RETRY_BACKOFF_SECONDS * failures)

    # ------------------------------------------------------------ artifacts

    def download(self, job_id: str, files: list[pb.ArtifactFile], directory: Path) -> Path:
        """Downloads every artifact file into `directory` (via `<name>.part`, resuming from its
        size after a dropped stream), verifies size and SHA-256, then renames into place."""
        directory.mkdir(parents=True, exist_ok=True)
        for entry in files:
            self._download_file(job_id, entry, directory)
        return directory

    def _download_file(self, job_id: str, entry: pb.ArtifactFile, directory: Path) -> None:
        final = directory / entry.name
        part = directory / (entry.name + ".part")
        failures = 0
        while True:
            offset = part.stat().st_size if part.exists() else 0
            if offset > entry.size_bytes:
                part.unlink()
                offset = 0
            request = pb.DownloadArtifactRequest(job_id=job_id, file_name=entry.name, offset=offset)
            try:
                with part.open("ab") as out:
                    for chunk in self.stub.DownloadArtifact(request):
                        _check_chunk(chunk, entry, out.tell())
                        out.write(chunk.data)
                break
            except grpc.RpcError as e:
                failures += 1
                if e.code() != grpc.StatusCode.UNAVAILABLE or failures > RETRIES:
                    raise translate(e) from None
                time.sleep(RETRY_BACKOFF_SECONDS * failures)
        digest = sha256_file(part)
        if part.stat().st_size != entry.size_bytes or digest != entry.sha256:
            part.unlink()
            raise DistillError(
                f"{entry.name}: downloaded file does not match the server's SHA-256 "
                f"(got {digest[:12]}…, expected {entry.sha256[:12]}…)",
                "DATA_LOSS",
            )
        part.replace(final)

    # ------------------------------------------------------------ helpers

    def _call(self, method, request):  # noqa: ANN001, ANN202 - any unary stub method
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            raise translate(e) from None


def _check_chunk(chunk: pb.ArtifactChunk, entry: pb.ArtifactFile, position: int) -> None:
    if chunk.offset != position or chunk.sha256 != entry.sha256:
        raise DistillError(
            f"{entry.name}: server sent offset {chunk.offset} at {position} "
            "or a different file version",
            "DATA_LOSS",
        )


def translate(error: grpc.RpcError) -> Exception:
    """gRPC status -> the exception a local run would raise for the same problem."""
    code, message = error.code(), error.details() or ""
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND):
        field, _, _ = message.partition(": ")
        kind = "not_found" if code == grpc.StatusCode.NOT_FOUND else "invalid"
        return SpecError(field or "request", message.partition(": ")[2] or message, kind)
    return DistillError(message or code.name, code.name)
