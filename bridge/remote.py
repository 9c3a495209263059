"""The gRPC client behind `Distiller.remote(...)`: submit, watch (resuming a dropped stream),
download (resuming from an offset, verifying SHA-256), catalogues.

Connections are TLS unless `plaintext=True`, with the Java client's options in snake_case
(`ConnectionOptions`), all checked before connecting. A failure that a TLS/plaintext mismatch,
an untrusted certificate or a missing client certificate explains names the fix
(`connection_hint`) and is not retried.

Server errors come back as the same exceptions a local run raises: `SpecError` for
INVALID_ARGUMENT / NOT_FOUND (the field is parsed from the message), `DistillError` with the
status name in `.code` for the rest.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
import time
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
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
KEEPALIVE_MS = 30_000  # the server accepts pings every 20 s (ServerConfig.min_ping_interval_s)
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_time_ms", KEEPALIVE_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    # C-core stops pinging after 2 pings without data by default: a quiet WatchJob (a teacher
    # fine-tuning for minutes) would then lose its keepalive
    ("grpc.http2.max_pings_without_data", 0),
]


class RemoteClient:
    """Owns its channel unless one is passed in. Use as a context manager or call `close()`.

    The connection options mirror the Java `DistillBridge.builder(target)` name for name (see
    `ConnectionOptions`): TLS unless `plaintext=True`, `trust_certificate`, `client_certificate`
    + `client_key`, `bearer_token`, `allow_insecure_token`. A bad combination or an unreadable
    PEM raises `ValueError` naming the option before anything connects. `channel=` brings its
    own credentials, so it takes none of the TLS options (a `bearer_token` still applies).
    The names from before TLS was the default (`token`, `tls_root_cert`, `tls_client_cert`,
    `tls_client_key`) still work, with a `DeprecationWarning`."""

    def __init__(
        self,
        target: str,
        *,
        timeout: float | None = None,
        channel: grpc.Channel | None = None,
        plaintext: bool = False,
        trust_certificate: str | Path | None = None,
        client_certificate: str | Path | None = None,
        client_key: str | Path | None = None,
        bearer_token: str | None = None,
        allow_insecure_token: bool = False,
        **renamed: Any,
    ) -> None:
        options = ConnectionOptions.of(
            plaintext=plaintext,
            trust_certificate=trust_certificate,
            client_certificate=client_certificate,
            client_key=client_key,
            bearer_token=bearer_token,
            allow_insecure_token=allow_insecure_token,
            **renamed,
        )
        problems = options.problems(target, API_NAMES, own_channel=channel is None)
        if problems:
            raise ValueError("; ".join(f"{name}: {message}" for name, message in problems))
        self.options = options
        self._owns_channel = channel is None
        if channel is None:
            channel = options.open_channel(target)
        self._base_channel = channel
        self.channel = _with_token(channel, options, own_channel=self._owns_channel)
        self.stub = pb_grpc.DistillerServiceStub(self.channel)
        self.timeout = timeout
        self.target = target
        # For the hints on failures: how this client connected (None: the caller's channel).
        self._connection = options if self._owns_channel else None

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

    def delete_job(self, job_id: str) -> int:
        """Deletes a finished job (record, events, artifact); returns the bytes freed. A queued
        or running job is refused (FAILED_PRECONDITION): cancel it first."""
        return self._call(self.stub.DeleteJob, pb.DeleteJobRequest(job_id=job_id)).freed_bytes

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
                if not retryable(e, self._connection) or failures > RETRIES:
                    raise translate(e, self._connection) from None
                time.sleep(RETRY_BACKOFF_SECONDS * failures)

    # ------------------------------------------------------------ uploads

    def upload_model(self, path: str | Path) -> pb.UploadResult:
        """Stores a teacher on the server: a .pt/.ts/.onnx file, or a Hugging Face model
        directory (zipped on the fly). Use the returned `upload_id` in the spec."""
        return self._upload(self.stub.UploadModel, Path(path), pb.UPLOAD_KIND_MODEL)

    def upload_dataset(self, path: str | Path) -> pb.UploadResult:
        """Stores a .csv/.jsonl/.npz dataset on the server."""
        return self._upload(self.stub.UploadDataset, Path(path), pb.UPLOAD_KIND_DATASET)

    def list_uploads(self, kind: str | None = None) -> list[pb.UploadResult]:
        """Stored uploads, oldest first; `kind` "model" or "dataset" (None: both). Each names
        the queued or running jobs that still need it (`active_job_ids`)."""
        request = pb.ListUploadsRequest(kind=_upload_kind(kind))
        return list(self._call(self.stub.ListUploads, request).uploads)

    def delete_upload(self, upload_id: str) -> int:
        """Deletes a stored upload; returns the bytes freed. Refused (FAILED_PRECONDITION)
        while a queued or running job references it."""
        request = pb.DeleteUploadRequest(upload_id=upload_id)
        return self._call(self.stub.DeleteUpload, request).freed_bytes

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
                if not retryable(e, self._connection) or failures > RETRIES:
                    raise translate(e, self._connection) from None
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
                if not retryable(e, self._connection) or failures > RETRIES:
                    raise translate(e, self._connection) from None
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
            raise translate(e, self._connection) from None


# How each option is named in a message: Python keywords here, CLI flags in bridge.cli_checks.
API_NAMES = {
    "plaintext": "plaintext=True",
    "trust_certificate": "trust_certificate",
    "client_certificate": "client_certificate",
    "client_key": "client_key",
    "bearer_token": "bearer_token",
    "allow_insecure_token": "allow_insecure_token=True",
}
# The keywords from when plaintext was the default and any tls_* turned TLS on: each
# means exactly its new name under the TLS default, so old TLS callers keep working.
RENAMED = {
    "token": "bearer_token",
    "tls_root_cert": "trust_certificate",
    "tls_client_cert": "client_certificate",
    "tls_client_key": "client_key",
}
_TLS_FILES = ("trust_certificate", "client_certificate", "client_key")


@dataclass(frozen=True)
class ConnectionOptions:
    """How a client reaches its server, named like the Java builder: TLS with gRPC's default
    roots (its bundled Mozilla set, or `$GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`) unless `plaintext`
    (`usePlaintext()`); `trust_certificate` (`trustCertificate`): a PEM CA or self-signed
    certificate to trust instead; `client_certificate` + `client_key` (`clientCertificate`):
    for a server started with --tls-client-ca; `bearer_token` (`bearerToken`): sent as gRPC
    call credentials, which gRPC sends only over TLS; `allow_insecure_token`
    (`allowInsecureBearerToken()`): send it over plaintext too (loopback only)."""

    plaintext: bool = False
    trust_certificate: Path | None = None
    client_certificate: Path | None = None
    client_key: Path | None = None
    bearer_token: str | None = field(default=None, repr=False)  # kept out of logs
    allow_insecure_token: bool = False

    @classmethod
    def of(cls, **values: Any) -> ConnectionOptions:
        """From keyword arguments, taking the old names in RENAMED (with a `DeprecationWarning`)."""
        for old in [k for k in values if k in RENAMED]:
            new, value = RENAMED[old], values.pop(old)
            warnings.warn(
                f"{old}= is now {new}= (named like the Java client)", DeprecationWarning, 3
            )
            if value is not None and values.get(new) is not None:
                raise TypeError(f"{old}= and {new}= are the same option; pass {new}= only")
            if value is not None:
                values[new] = value
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
        for name in _TLS_FILES:
            values[name] = None if values.get(name) is None else Path(values[name])
        return cls(**values)

    def problems(
        self, target: str, names: dict[str, str], *, own_channel: bool = True
    ) -> list[tuple[str, str]]:
        """(the option as `names` spells it, what is wrong with it), checked before connecting:
        pairs and conflicts, the PEM files (readable, parseable, key matches certificate), and
        a token that would go out in the clear."""
        found: list[tuple[str, str]] = []
        if self.bearer_token is not None and not self.bearer_token.strip():
            found.append((names["bearer_token"], "must not be blank"))
        tls_given = [name for name in _TLS_FILES if getattr(self, name) is not None]
        if not own_channel:
            for name in ["plaintext"] * self.plaintext + tls_given:
                found.append((names[name], "not with channel=, which brings its own credentials"))
            return found
        if self.plaintext and tls_given:
            other = " and ".join(names[n] for n in tls_given)
            found.append((names["plaintext"], f"cannot be combined with {other} (TLS); drop one"))
        elif (self.client_certificate is None) != (self.client_key is None):
            missing = "client_key" if self.client_key is None else "client_certificate"
            pair = f"{names['client_certificate']} and {names['client_key']}"
            found.append((names[missing], f"missing: {pair} go together"))
        else:
            found += self._pem_problems(names)
        if self.bearer_token and self.plaintext and not self.allow_insecure_token:
            found.append(
                (
                    names["bearer_token"],
                    f"refusing to send the token to {target} without TLS: drop "
                    f"{names['plaintext']} (TLS; {names['trust_certificate']} for a private "
                    f"CA), or pass {names['allow_insecure_token']} to send it in the clear "
                    "(loopback only)",
                )
            )
        return found

    def _pem_problems(self, names: dict[str, str]) -> list[tuple[str, str]]:
        """Loads the files with Python's ssl module: gRPC itself would only fail at the first
        call, with "Failed to create security handshaker"."""
        found = [
            (names[name], why)
            for name in _TLS_FILES
            if getattr(self, name) is not None and (why := _unreadable(getattr(self, name)))
        ]
        if found:
            return found
        if self.trust_certificate is not None:
            try:
                ssl.create_default_context(cafile=str(self.trust_certificate))
            except ssl.SSLError as e:
                found.append(
                    (
                        names["trust_certificate"],
                        f"{self.trust_certificate}: no PEM certificate ({e.reason})",
                    )
                )
        if self.client_certificate is not None and self.client_key is not None:
            found += _client_pair_problems(self.client_certificate, self.client_key, names)
        return found

    def open_channel(self, target: str) -> grpc.Channel:
        if self.plaintext:
            return grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(self.trust_certificate),
            private_key=_read(self.client_key),
            certificate_chain=_read(self.client_certificate),
        )
        if self.bearer_token:  # call credentials: gRPC attaches them only to a secure channel
            token = grpc.access_token_call_credentials(self.bearer_token)
            credentials = grpc.composite_channel_credentials(credentials, token)
        return grpc.secure_channel(target, credentials, options=CHANNEL_OPTIONS)


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


def _unreadable(path: Path) -> str:
    """Why `path` cannot be read as a file ("" when it can)."""
    if not path.is_file():
        return f"no such file: {path}"
    return "" if os.access(path, os.R_OK) else f"{path} is not readable"


def _client_pair_problems(
    certificate: Path, key: Path, names: dict[str, str]
) -> list[tuple[str, str]]:
    def encrypted() -> bytes:
        raise _EncryptedKey

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(certificate, key, encrypted)
    except _EncryptedKey:
        return [(names["client_key"], f"{key} is encrypted; gRPC needs an unencrypted PEM key")]
    except ssl.SSLError as e:
        if "KEY_VALUES_MISMATCH" in str(e):
            return [(names["client_key"], f"{key} is not the key of {certificate}")]
        return [
            (
                names["client_certificate"],
                f"cannot load {certificate} with {key} as PEM ({e.reason})",
            )
        ]
    return []


class _EncryptedKey(Exception):
    """Raised by the password callback: ssl would otherwise prompt on the terminal."""


def _with_token(channel: grpc.Channel, options: ConnectionOptions, *, own_channel: bool) -> Any:
    """`channel` with the bearer token on every call, where the channel's credentials do not
    already carry it (a TLS channel this client opened does)."""
    token = options.bearer_token
    if not token or (own_channel and not options.plaintext):
        return channel
    # Plaintext with allow_insecure_token: a plain header. A channel passed in: call
    # credentials, which gRPC refuses (UNAUTHENTICATED) on one without TLS, unless allowed.
    as_credentials = not own_channel and not options.allow_insecure_token
    return grpc.intercept_channel(channel, _BearerToken(token, as_credentials))


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds the token to every call: as `authorization: Bearer <token>` metadata, or as gRPC
    call credentials (which gRPC sends only over TLS)."""

    def __init__(self, token: str, as_call_credentials: bool) -> None:
        self._header = ("authorization", f"Bearer {token}")
        self._credentials = (
            grpc.access_token_call_credentials(token) if as_call_credentials else None
        )

    def _with_token(self, details: Any) -> Any:
        metadata, credentials = details.metadata, details.credentials
        if self._credentials is None:
            metadata = [*(metadata or ()), self._header]
        elif credentials is None:
            credentials = self._credentials
        else:
            credentials = grpc.composite_call_credentials(credentials, self._credentials)
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            credentials,
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


def _upload_kind(kind: str | None) -> int:
    kinds = {
        None: pb.UPLOAD_KIND_UNSPECIFIED,
        "model": pb.UPLOAD_KIND_MODEL,
        "dataset": pb.UPLOAD_KIND_DATASET,
    }
    if kind not in kinds:
        raise ValueError(f"kind: must be 'model', 'dataset' or None, got {kind!r}")
    return kinds[kind]


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


# What the transport's status ("UNAVAILABLE: failed to connect to all addresses ...") does not
# say: the likely fix. Each names the Python keyword and the CLI flag, as Java's TlsFailureHints.
PLAINTEXT_HINT = (
    "TLS with the server failed; if it runs without --tls-cert (plaintext), connect with "
    "plaintext=True (CLI: --plaintext)"
)
TRUST_HINT = (
    "the server's TLS certificate is not trusted (or does not name this host); pass its CA (or "
    "the self-signed certificate) with trust_certificate=PEM (CLI: --trust-certificate PEM)"
)
CLIENT_CERTIFICATE_HINT = (
    "the server refused the TLS connection; if it asks for a client certificate "
    "(--tls-client-ca), pass client_certificate= and client_key= (CLI: --client-certificate, "
    "--client-key)"
)
TLS_SERVER_HINT = (
    "the server closed the connection; if it runs with --tls-cert (TLS), drop plaintext=True "
    "(CLI: --plaintext)"
)
INSECURE_TOKEN_HINT = (
    "gRPC sends the bearer token only over TLS and this channel has none: connect with TLS, or "
    "pass allow_insecure_token=True to send it in the clear (loopback only)"
)


def connection_hint(error: grpc.RpcError, options: ConnectionOptions | None) -> str | None:
    """The fix for a failure that a TLS/plaintext mismatch or missing trust explains, else
    None. `options`: how the client connected (None: a channel passed in, its security
    unknown)."""
    code, details = error.code(), (error.details() or "").lower()
    if code == grpc.StatusCode.UNAUTHENTICATED and "security level" in details:
        return INSECURE_TOKEN_HINT
    if code != grpc.StatusCode.UNAVAILABLE or "failed to connect" not in details:
        return None  # a connection that once worked and dropped is not a setup problem
    # The peer hung up during the handshake: TLS bytes at a plaintext client's HTTP/2
    # preface, or (TLS 1.3) a server that wanted a certificate the client did not send.
    closed = "socket closed" in details and options is not None
    if closed and options.plaintext:
        return TLS_SERVER_HINT
    if closed and options.client_certificate is None:
        return CLIENT_CERTIFICATE_HINT
    if "wrong_version_number" in details:  # the server answered with something not TLS
        return PLAINTEXT_HINT
    if "certificate_verify_failed" in details or "peer name" in details:
        return TRUST_HINT
    if "handshake" in details and "alert" in details:
        return CLIENT_CERTIFICATE_HINT
    return PLAINTEXT_HINT if "handshake" in details else None


def retryable(error: grpc.RpcError, options: ConnectionOptions | None) -> bool:
    """UNAVAILABLE that may pass: not a TLS setup problem, which no retry fixes."""
    return error.code() == grpc.StatusCode.UNAVAILABLE and not connection_hint(error, options)


def translate(error: grpc.RpcError, options: ConnectionOptions | None = None) -> Exception:
    """gRPC status -> the exception a local run would raise for the same problem; a connection
    failure with a likely fix (`connection_hint`) says it first."""
    code, message = error.code(), error.details() or ""
    hint = connection_hint(error, options)
    if hint:
        return DistillError(f"{hint} (gRPC: {message})", code.name)
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND):
        field, _, _ = message.partition(": ")
        kind = "not_found" if code == grpc.StatusCode.NOT_FOUND else "invalid"
        return SpecError(field or "request", message.partition(": ")[2] or message, kind)
    return DistillError(message or code.name, code.name)
