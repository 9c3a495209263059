"""The gRPC client behind `Distiller.remote(...)`: submit, watch (resuming a dropped stream),
download (resuming from an offset, verifying SHA-256), catalogues.

Server errors come back as the same exceptions a local run raises: `SpecError` for
INVALID_ARGUMENT / NOT_FOUND (the field is parsed from the message), `DistillError` with the
status name in `.code` for the rest.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
from bridge.errors import DistillError
from bridge.events import EventSink, ignore_events
from bridge.export.manifest import member_path
from bridge.paths import sha256_file
from bridge.spec import DistillSpec, SpecError
from bridge.wire import event_from_proto, spec_from_proto, spec_to_proto

RETRIES = 5
RETRY_BACKOFF_SECONDS = 0.5
UPLOAD_CHUNK_BYTES = 256 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_permit_without_calls", 1),
]


class RemoteClient:
    """Owns its channel unless one is passed in. Use as a context manager or call `close()`.

    `token` is sent as `authorization: Bearer <token>` on every call. Any `tls_*` argument
    switches to TLS: `tls_root_cert` is the PEM CA (or self-signed certificate) to trust
    (default: the system roots); `tls_client_cert` + `tls_client_key` present a client
    certificate to a server that asks for one. A token on a channel without TLS is refused
    (`ValueError`) unless `allow_insecure_token=True` (loopback only: anyone on the path can
    read it), as the Java client's `allowInsecureBearerToken()`."""

    def __init__(
        self,
        target: str,
        *,
        timeout: float | None = None,
        channel: grpc.Channel | None = None,
        token: str | None = None,
        tls_root_cert: str | Path | None = None,
        tls_client_cert: str | Path | None = None,
        tls_client_key: str | Path | None = None,
        allow_insecure_token: bool = False,
    ) -> None:
        plaintext = channel is None and tls_root_cert is tls_client_cert is tls_client_key is None
        if token and plaintext and not allow_insecure_token:
            raise ValueError(
                f"refusing to send the token to {target} without TLS: pass tls_root_cert= (the CA"
                " of the server's --tls-cert), or allow_insecure_token=True to send it in the"
                " clear (loopback only)"
            )
        self._owns_channel = channel is None
        if channel is None:
            channel = _open_channel(target, tls_root_cert, tls_client_cert, tls_client_key)
        self._base_channel = channel
        self.channel = grpc.intercept_channel(channel, _BearerToken(token)) if token else channel
        self.stub = pb_grpc.DistillerServiceStub(self.channel)
        self.timeout = timeout
        self.target = target

    def close(self) -> None:
        if self._owns_channel:
            self._base_channel.close()

    def __enter__(self) -> RemoteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ jobs

    def submit(self, spec: DistillSpec) -> pb.Job:
        request = pb.SubmitJobRequest(spec=spec_to_proto(spec))
        return self._call(self.stub.SubmitJob, request)

    def validate(self, spec: DistillSpec) -> DistillSpec:
        """The server's checks without a job (`validate_only`): the spec it would run."""
        request = pb.SubmitJobRequest(spec=spec_to_proto(spec), validate_only=True)
        return spec_from_proto(self._call(self.stub.SubmitJob, request).spec)

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

    # ------------------------------------------------------------ uploads

    def upload_model(self, path: str | Path) -> pb.UploadResult:
        """Stores a teacher on the server: a .pt/.ts/.onnx file, or a Hugging Face model
        directory (zipped on the fly). Use the returned `upload_id` in the spec."""
        return self._upload(self.stub.UploadModel, Path(path), pb.UPLOAD_KIND_MODEL)

    def upload_dataset(self, path: str | Path) -> pb.UploadResult:
        """Stores a .csv/.jsonl/.npz dataset on the server."""
        return self._upload(self.stub.UploadDataset, Path(path), pb.UPLOAD_KIND_DATASET)

    def upload_local_files(self, spec: DistillSpec, teacher_file: str | None) -> DistillSpec:
        """The spec with a local teacher (`teacher_file`) and a `Dataset.upload` file replaced
        by the ids of their uploads."""
        if teacher_file:
            upload = self.upload_model(teacher_file)
            spec = replace(spec, teacher="", teacher_upload_id=upload.upload_id)
        if spec.dataset.local_file:
            upload = self.upload_dataset(spec.dataset.local_file)
            dataset = replace(spec.dataset, local_file=None, upload_id=upload.upload_id)
            spec = replace(spec, dataset=dataset)
        return spec

    def _upload(self, method: Any, path: Path, kind: int) -> pb.UploadResult:
        if path.is_dir():
            with tempfile.TemporaryDirectory() as tmp:
                archive = _zip_directory(path, Path(tmp) / (path.name + ".zip"))
                return self._upload(method, archive, kind)
        if not path.is_file():
            field = "teacher" if kind == pb.UPLOAD_KIND_MODEL else "dataset"
            raise SpecError(field, f"no such local file: {path}", kind="not_found")
        meta = pb.UploadMetadata(
            file_name=path.name,
            total_size=path.stat().st_size,
            sha256=sha256_file(path),
            kind=kind,
        )
        failures = 0
        while True:  # an upload is not resumable: a broken stream starts it again
            try:
                return method(_upload_chunks(meta, path), timeout=self.timeout)
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
        try:
            final = member_path(directory, entry.name)  # "report/loss_curves.png" is nested
        except ValueError as e:
            raise DistillError(str(e), "DATA_LOSS") from None
        final.parent.mkdir(parents=True, exist_ok=True)
        part = final.with_name(final.name + ".part")
        failures = 0
        while True:
            offset = part.stat().st_size if part.exists() else 0
            if offset > entry.size_bytes:
                part.unlink()
                offset = 0
            # Hashed as it arrives, so the file is not read a second time; a resumed
            # download hashes the part it already has first.
            hasher = _sha256_of(part) if offset else hashlib.sha256()
            request = pb.DownloadArtifactRequest(job_id=job_id, file_name=entry.name, offset=offset)
            try:
                with part.open("ab") as out:
                    for chunk in self.stub.DownloadArtifact(request):
                        _check_chunk(chunk, entry, out.tell())
                        out.write(chunk.data)
                        hasher.update(chunk.data)
                break
            except grpc.RpcError as e:
                failures += 1
                if e.code() != grpc.StatusCode.UNAVAILABLE or failures > RETRIES:
                    raise translate(e) from None
                time.sleep(RETRY_BACKOFF_SECONDS * failures)
        digest = hasher.hexdigest()
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


def _open_channel(
    target: str,
    root_cert: str | Path | None,
    client_cert: str | Path | None,
    client_key: str | Path | None,
) -> grpc.Channel:
    if root_cert is None and client_cert is None and client_key is None:
        return grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
    if (client_cert is None) != (client_key is None):
        raise ValueError("tls_client_cert and tls_client_key go together")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=Path(root_cert).read_bytes() if root_cert else None,
        private_key=Path(client_key).read_bytes() if client_key else None,
        certificate_chain=Path(client_cert).read_bytes() if client_cert else None,
    )
    return grpc.secure_channel(target, credentials, options=CHANNEL_OPTIONS)


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds `authorization: Bearer <token>` to every call (over plaintext only when allowed)."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _with_token(self, details: Any) -> Any:
        metadata = [*(details.metadata or ()), self._header]
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation, details, request):  # noqa: ANN001, ANN201
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):  # noqa: ANN001, ANN201
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation, details, requests):  # noqa: ANN001, ANN201
        return continuation(self._with_token(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):  # noqa: ANN001, ANN201
        return continuation(self._with_token(details), requests)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):  # noqa: ANN001
        self.method, self.timeout, self.metadata = method, timeout, metadata
        self.credentials, self.wait_for_ready, self.compression = (
            credentials,
            wait_for_ready,
            compression,
        )


def _upload_chunks(meta: pb.UploadMetadata, path: Path) -> Iterator[pb.UploadChunk]:
    yield pb.UploadChunk(metadata=meta)
    with path.open("rb") as f:
        while block := f.read(UPLOAD_CHUNK_BYTES):
            yield pb.UploadChunk(data=block)


def _sha256_of(path: Path) -> hashlib._Hash:
    """A SHA-256 object fed with the file's bytes, to continue with more."""
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            hasher.update(block)
    return hasher


def _zip_directory(directory: Path, archive: Path) -> Path:
    """Zips a model directory (regular files only, paths relative to it) for UploadModel."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not path.is_symlink():
                zf.write(path, path.relative_to(directory).as_posix())
    return archive


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
