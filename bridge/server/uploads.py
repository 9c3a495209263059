"""Uploaded teachers and datasets: received as a stream of chunks, checked against the declared
size and SHA-256, written via a temp file and a rename under `<data-dir>/uploads/<upload_id>/`,
and — for a zipped Hugging Face model directory — unpacked safely (no paths out of the target,
no links, a size cap).

Status codes: RESOURCE_EXHAUSTED when a size limit is passed; DATA_LOSS when the bytes that
arrived do not match the declared size or SHA-256 (a truncated or corrupted transfer);
INVALID_ARGUMENT for bad metadata or a file that is not what its name says.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import time
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge.paths import tree_bytes
from bridge.server.store import Store, StoredUpload
from bridge.spec import DistillSpec, SpecError

SUFFIXES = {
    pb.UPLOAD_KIND_MODEL: {".pt", ".ts", ".onnx", ".zip"},
    pb.UPLOAD_KIND_DATASET: {".csv", ".jsonl", ".npz"},
}
KIND_NAMES = {pb.UPLOAD_KIND_MODEL: "model", pb.UPLOAD_KIND_DATASET: "dataset"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
UPLOAD_ID = re.compile(r"upl-[0-9a-f]{16}")
INCOMING = ".incoming-"  # an upload being received, renamed to its id once whole
MAX_NAME_CHARS = 255


class UploadError(Exception):
    """`code` is the gRPC status name the caller gets."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class UploadLimits:
    max_upload_bytes: int = 2 * 1024**3
    # A zip may unpack to at most this much, in at most this many entries (zip bombs).
    max_extracted_bytes: int = 8 * 1024**3
    max_zip_entries: int = 10_000


class UploadStore:
    def __init__(self, directory: Path, store: Store, limits: UploadLimits | None = None) -> None:
        self.directory = directory
        self.store = store
        self.limits = limits or UploadLimits()
        directory.mkdir(parents=True, exist_ok=True)
        # Leftovers of uploads cut short by a crash (never recorded, so never referenced) and
        # of deletes cut short between removing the record and the files.
        recorded = {u.upload_id for u in store.uploads()}
        for leftover in directory.iterdir():
            ours = leftover.name.startswith(INCOMING) or UPLOAD_ID.fullmatch(leftover.name)
            if ours and leftover.name not in recorded:
                shutil.rmtree(leftover, ignore_errors=True)

    # ------------------------------------------------------------ receiving

    def receive(self, kind: int, chunks: Iterable[pb.UploadChunk]) -> StoredUpload:
        """Consumes one upload stream; returns the stored upload or raises `UploadError`."""
        it = iter(chunks)
        first = next(it, None)
        if first is None or first.WhichOneof("part") != "metadata":
            raise UploadError(
                "INVALID_ARGUMENT", "metadata: the first chunk must carry UploadMetadata"
            )
        meta = first.metadata
        name, digest = self._check_metadata(kind, meta)
        upload_id = "upl-" + uuid.uuid4().hex[:16]
        incoming = self.directory / f"{INCOMING}{upload_id}"
        incoming.mkdir()
        try:
            part = incoming / name
            self._write(it, part, meta.total_size, digest)
            path, extracted = part, False
            if part.suffix.lower() == ".zip":
                path, extracted = self._unzip(part, incoming / part.stem), True
                part.unlink()
            final = self.directory / upload_id
            os.replace(incoming, final)  # the upload appears whole or not at all
            upload = StoredUpload(
                upload_id,
                kind,
                name,
                meta.total_size,
                digest,
                final / path.relative_to(incoming),
                extracted,
                time.time(),
            )
            self.store.insert_upload(upload)
            return upload
        finally:
            shutil.rmtree(incoming, ignore_errors=True)

    def _check_metadata(self, kind: int, meta: pb.UploadMetadata) -> tuple[str, str]:
        if meta.kind not in (pb.UPLOAD_KIND_UNSPECIFIED, kind):
            raise UploadError(
                "INVALID_ARGUMENT",
                f"metadata.kind: {pb.UploadKind.Name(meta.kind)} sent to the "
                f"{KIND_NAMES[kind]} upload",
            )
        name = meta.file_name
        if (
            not name
            or len(name) > MAX_NAME_CHARS
            or name != PurePosixPath(name).name
            or "\\" in name
            or "\x00" in name
            or name.startswith(".")
        ):
            raise UploadError(
                "INVALID_ARGUMENT",
                f"metadata.file_name: {name[:80]!r} must be a plain file name (no directories, "
                "not hidden)",
            )
        suffix = PurePosixPath(name).suffix.lower()
        if suffix not in SUFFIXES[kind]:
            raise UploadError(
                "INVALID_ARGUMENT",
                f"metadata.file_name: a {KIND_NAMES[kind]} upload must end in one of "
                f"{', '.join(sorted(SUFFIXES[kind]))}, got {name!r}",
            )
        if meta.total_size <= 0:
            raise UploadError("INVALID_ARGUMENT", "metadata.total_size: must be positive")
        if meta.total_size > self.limits.max_upload_bytes:
            raise UploadError(
                "RESOURCE_EXHAUSTED",
                f"metadata.total_size: {meta.total_size} bytes is over this server's limit of "
                f"{self.limits.max_upload_bytes}",
            )
        digest = meta.sha256.lower()
        if not _SHA256.fullmatch(digest):
            raise UploadError("INVALID_ARGUMENT", "metadata.sha256: must be 64 hex digits")
        return name, digest

    def _write(self, chunks: Iterable[pb.UploadChunk], part: Path, size: int, digest: str) -> None:
        h = hashlib.sha256()
        received = 0
        with part.open("wb") as out:
            for chunk in chunks:
                if chunk.WhichOneof("part") != "data":
                    raise UploadError(
                        "INVALID_ARGUMENT", "metadata: only the first chunk may carry metadata"
                    )
                received += len(chunk.data)
                if received > size:
                    raise UploadError(
                        "INVALID_ARGUMENT",
                        f"data: more bytes than the declared total_size of {size}",
                    )
                h.update(chunk.data)
                out.write(chunk.data)
            out.flush()
            os.fsync(out.fileno())
        if received != size:
            raise UploadError(
                "DATA_LOSS", f"data: upload truncated: received {received} of {size} bytes"
            )
        if h.hexdigest() != digest:
            raise UploadError(
                "DATA_LOSS",
                f"data: SHA-256 of the received bytes is {h.hexdigest()}, the metadata "
                f"declared {digest}",
            )

    def _unzip(self, archive: Path, target: Path) -> Path:
        """Unpacks a zip into `target` refusing links, absolute or `..` paths and bombs; returns
        the model directory (the single top-level folder, when the zip has one)."""
        try:
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                self._check_entries(infos)
                target.mkdir()
                budget = self.limits.max_extracted_bytes
                for info in infos:
                    dest = target / info.filename
                    if info.is_dir():
                        dest.mkdir(parents=True, exist_ok=True)
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    # Count real bytes, not the header's claim: headers can lie.
                    with zf.open(info) as src, dest.open("wb") as out:
                        while block := src.read(1 << 20):
                            budget -= len(block)
                            if budget < 0:
                                raise UploadError("RESOURCE_EXHAUSTED", self._too_big())
                            out.write(block)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as e:
            raise UploadError("INVALID_ARGUMENT", f"data: not a readable zip archive: {e}") from e
        tops = {PurePosixPath(i.filename).parts[0] for i in infos}
        if len(tops) == 1 and (target / next(iter(tops))).is_dir():
            return target / next(iter(tops))
        return target

    def _check_entries(self, infos: list[zipfile.ZipInfo]) -> None:
        if not infos:
            raise UploadError("INVALID_ARGUMENT", "data: the zip archive is empty")
        if len(infos) > self.limits.max_zip_entries:
            raise UploadError(
                "RESOURCE_EXHAUSTED",
                f"data: {len(infos)} entries, over the limit of {self.limits.max_zip_entries}",
            )
        declared = 0
        for info in infos:
            path = PurePosixPath(info.filename)
            if (
                path.is_absolute()
                or ".." in path.parts
                or "\\" in info.filename
                or "\x00" in info.filename
                or not path.parts
            ):
                raise UploadError(
                    "INVALID_ARGUMENT", f"data: zip entry {info.filename!r} escapes the archive"
                )
            # Unix file type bits, when the archiver set them (writestr-made zips leave them 0).
            file_type = stat.S_IFMT(info.external_attr >> 16)
            if file_type and file_type not in (stat.S_IFREG, stat.S_IFDIR):
                raise UploadError(
                    "INVALID_ARGUMENT",
                    f"data: zip entry {info.filename!r} is a link or special file",
                )
            declared += info.file_size
        if declared > self.limits.max_extracted_bytes:
            raise UploadError("RESOURCE_EXHAUSTED", self._too_big())

    def _too_big(self) -> str:
        return f"data: the zip unpacks to more than {self.limits.max_extracted_bytes} bytes"

    # ------------------------------------------------------------ listing and deleting

    def list(self, kind: int = pb.UPLOAD_KIND_UNSPECIFIED) -> list[StoredUpload]:
        return [u for u in self.store.uploads() if kind in (pb.UPLOAD_KIND_UNSPECIFIED, u.kind)]

    def delete(self, upload_id: str) -> int:
        """Removes the upload's record, then its files; returns the bytes freed. `KeyError` for
        an unknown upload. The caller makes sure no unfinished job needs it."""
        if not UPLOAD_ID.fullmatch(upload_id) or self.store.upload(upload_id) is None:
            raise KeyError(upload_id)
        self.store.delete_upload(upload_id)  # files without a record are swept at start
        directory = self.directory / upload_id
        freed = tree_bytes(directory)
        shutil.rmtree(directory, ignore_errors=True)
        return freed

    # ------------------------------------------------------------ resolving

    def path_of(self, upload_id: str, kind: int, field: str) -> Path:
        """The stored path of an upload of this kind; NOT_FOUND `SpecError` naming `field`."""
        upload = self.store.upload(upload_id) if UPLOAD_ID.fullmatch(upload_id) else None
        if upload is None or upload.kind != kind or not upload.path.exists():
            raise SpecError(field, f"no {KIND_NAMES[kind]} upload {upload_id!r}", kind="not_found")
        return upload.path

    def resolve(self, spec: DistillSpec) -> DistillSpec:
        """The spec with upload ids replaced by the stored paths the pipeline reads."""
        if spec.teacher_upload_id:
            path = self.path_of(spec.teacher_upload_id, pb.UPLOAD_KIND_MODEL, "teacher.upload_id")
            spec = replace(spec, teacher=str(path), teacher_upload_id="")
        if spec.dataset.upload_id:
            path = self.path_of(spec.dataset.upload_id, pb.UPLOAD_KIND_DATASET, "dataset.upload_id")
            spec = replace(spec, dataset=replace(spec.dataset, path=str(path), upload_id=None))
        return spec
