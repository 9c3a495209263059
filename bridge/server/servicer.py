"""DistillerService: proto <-> spec, job bookkeeping, streaming. No training logic here."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
from bridge.check import check
from bridge.data import BUILTIN_DATASETS
from bridge.errors import DistillError
from bridge.models import ZOO
from bridge.server import logs
from bridge.server.jobs import JobManager, JobRecord, ServerClosing
from bridge.server.uploads import KIND_NAMES, UploadError, UploadStore
from bridge.spec import SpecError
from bridge.tracking import refuse_untracked_registry
from bridge.wire import spec_from_proto, spec_to_proto

CHUNK_BYTES = 256 * 1024
log = logging.getLogger("bridge.server")


class DistillerServicer(pb_grpc.DistillerServiceServicer):
    def __init__(
        self, jobs: JobManager, uploads: UploadStore, max_student_parameters: int | None = None
    ) -> None:
        self.jobs = jobs
        self.uploads = uploads
        self.max_student_parameters = max_student_parameters

    # ------------------------------------------------------------ jobs

    def SubmitJob(self, request: pb.SubmitJobRequest, context: grpc.ServicerContext) -> pb.Job:
        """parse -> DistillSpec -> check -> queue (or, with validate_only, answer the spec)."""
        try:
            spec = check(
                spec_from_proto(request.spec),
                self.jobs.paths.data_root,
                self.uploads.resolve,
                self.max_student_parameters,
            )
            if request.validate_only:
                return pb.Job(spec=spec_to_proto(spec))
            refuse_untracked_registry(
                spec, self.jobs.tracking, "start the server with --mlflow-tracking-uri"
            )
            job = self.jobs.submit(spec)
        except SpecError as e:
            self._reject(context, e.code, str(e))
        except DistillError as e:
            self._reject(context, e.code or "UNAVAILABLE", str(e))
        return job.to_proto()

    def _reject(self, context: grpc.ServicerContext, code: str, message: str) -> None:
        self.jobs.metrics.jobs_rejected.labels(code).inc()
        log.info("submit refused: %s", message, extra={"code": code})
        context.abort(grpc.StatusCode[code], message)

    def GetJob(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> pb.Job:
        return self._job(request.job_id, context).to_proto()

    def ListJobs(
        self, request: pb.ListJobsRequest, context: grpc.ServicerContext
    ) -> pb.ListJobsResponse:
        jobs = [
            j.to_proto()
            for j in self.jobs.list()
            if request.state in (pb.JOB_STATE_UNSPECIFIED, j.state)
        ]
        return pb.ListJobsResponse(jobs=jobs)

    def CancelJob(self, request: pb.CancelJobRequest, context: grpc.ServicerContext) -> pb.Job:
        job = self._job(request.job_id, context)
        return self.jobs.cancel(job.job_id).to_proto()

    def DeleteJob(
        self, request: pb.DeleteJobRequest, context: grpc.ServicerContext
    ) -> pb.DeleteJobResponse:
        job = self._job(request.job_id, context)
        try:
            freed = self.jobs.delete(job.job_id)
        except KeyError:  # another caller deleted it first
            context.abort(grpc.StatusCode.NOT_FOUND, f"job_id: no job {job.job_id!r}")
        except DistillError as e:
            context.abort(grpc.StatusCode[e.code], str(e))
        return pb.DeleteJobResponse(job_id=job.job_id, freed_bytes=freed)

    def WatchJob(
        self, request: pb.WatchJobRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.JobEvent]:
        job = self._job(request.job_id, context)
        if request.from_sequence < 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "from_sequence: must be >= 0")
        try:
            yield from self.jobs.watch(job.job_id, request.from_sequence, context.is_active)
        except ServerClosing as e:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(e))

    # ------------------------------------------------------------ artifacts

    def DownloadArtifact(
        self, request: pb.DownloadArtifactRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.ArtifactChunk]:
        job = self._job(request.job_id, context)
        if job.state != pb.JOB_STATE_SUCCEEDED:
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"job_id: job {job.job_id} has no artifact (state {pb.JobState.Name(job.state)})",
            )
        entry = next((f for f in job.files if f.name == request.file_name), None)
        if entry is None:
            names = ", ".join(f.name for f in job.files)
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"file_name: {request.file_name!r} is not in the artifact ({names})",
            )
        if not 0 <= request.offset <= entry.size_bytes:
            context.abort(
                grpc.StatusCode.OUT_OF_RANGE,
                f"offset: {request.offset} is outside 0..{entry.size_bytes}",
            )
        path = job.artifact_dir / entry.name
        if not path.is_file() or path.stat().st_size != entry.size_bytes:
            log.error(
                "artifact file missing or resized", extra=logs.job(job.job_id, file=entry.name)
            )
            context.abort(
                grpc.StatusCode.DATA_LOSS,
                f"file_name: {entry.name} of job {job.job_id} is missing or damaged on the server",
            )
        self.jobs.metrics.downloads.labels(str(request.offset > 0).lower()).inc()
        log.info(
            "download",
            extra=logs.job(job.job_id, file=entry.name, offset=request.offset),
        )
        yield from _chunks(job, entry, request.offset)

    # ------------------------------------------------------------ uploads

    def UploadModel(
        self, request_iterator: Iterator[pb.UploadChunk], context: grpc.ServicerContext
    ) -> pb.UploadResult:
        return self._upload(pb.UPLOAD_KIND_MODEL, request_iterator, context)

    def UploadDataset(
        self, request_iterator: Iterator[pb.UploadChunk], context: grpc.ServicerContext
    ) -> pb.UploadResult:
        return self._upload(pb.UPLOAD_KIND_DATASET, request_iterator, context)

    def _upload(
        self, kind: int, chunks: Iterator[pb.UploadChunk], context: grpc.ServicerContext
    ) -> pb.UploadResult:
        metrics = self.jobs.metrics
        try:
            upload = self.uploads.receive(kind, chunks)
        except UploadError as e:
            metrics.uploads.labels(KIND_NAMES[kind], e.code).inc()
            log.info("upload refused: %s", e, extra={"code": e.code})
            context.abort(grpc.StatusCode[e.code], str(e))
        metrics.uploads.labels(KIND_NAMES[kind], "ok").inc()
        metrics.upload_bytes.inc(upload.size_bytes)
        log.info(
            "upload stored",
            extra={
                "upload_id": upload.upload_id,
                "file": upload.file_name,
                "bytes": upload.size_bytes,
            },
        )
        return upload.to_proto()

    def ListUploads(
        self, request: pb.ListUploadsRequest, context: grpc.ServicerContext
    ) -> pb.ListUploadsResponse:
        users = self.jobs.active_upload_references()
        return pb.ListUploadsResponse(
            uploads=[u.to_proto(users.get(u.upload_id)) for u in self.uploads.list(request.kind)]
        )

    def DeleteUpload(
        self, request: pb.DeleteUploadRequest, context: grpc.ServicerContext
    ) -> pb.DeleteUploadResponse:
        if not request.upload_id:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "upload_id: must not be empty")
        try:
            freed = self.jobs.delete_upload(request.upload_id, self.uploads.delete)
        except KeyError:
            context.abort(grpc.StatusCode.NOT_FOUND, f"upload_id: no upload {request.upload_id!r}")
        except DistillError as e:
            context.abort(grpc.StatusCode[e.code], str(e))
        return pb.DeleteUploadResponse(upload_id=request.upload_id, freed_bytes=freed)

    # ------------------------------------------------------------ catalogues

    def ListTeachers(
        self, request: pb.ListTeachersRequest, context: grpc.ServicerContext
    ) -> pb.ListTeachersResponse:
        teachers = []
        for t in ZOO.values():
            info = t.cached_info(self.jobs.paths.home) or {}
            teachers.append(
                pb.TeacherInfo(
                    name=t.name,
                    description=t.description,
                    architecture=t.architecture,
                    dataset=t.dataset,
                    parameters=info.get("parameters", 0),
                    cached=bool(info),
                )
            )
        return pb.ListTeachersResponse(teachers=teachers)

    def ListDatasets(
        self, request: pb.ListDatasetsRequest, context: grpc.ServicerContext
    ) -> pb.ListDatasetsResponse:
        return pb.ListDatasetsResponse(
            datasets=[
                pb.DatasetInfo(
                    name=d.name,
                    description=d.description,
                    modality=d.modality,
                    rows=d.rows,
                    input_shape=d.input_shape,
                    labels=d.labels,
                    available=d.available,
                )
                for d in BUILTIN_DATASETS.values()
            ]
        )

    # ------------------------------------------------------------ helpers

    def _job(self, job_id: str, context: grpc.ServicerContext) -> JobRecord:
        if not job_id:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "job_id: must not be empty")
        job = self.jobs.get(job_id)
        if job is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"job_id: no job {job_id!r}")
        return job


def _chunks(job: JobRecord, entry: pb.ArtifactFile, offset: int) -> Iterator[pb.ArtifactChunk]:
    path = job.artifact_dir / entry.name
    with path.open("rb") as f:
        f.seek(offset)
        position = offset
        while True:
            data = f.read(CHUNK_BYTES)
            if not data and position > offset:
                return
            yield pb.ArtifactChunk(
                file_name=entry.name,
                offset=position,
                data=data,
                total_size=entry.size_bytes,
                sha256=entry.sha256,
            )
            position += len(data)
            if not data:
                return
