"""DistillerService: proto <-> spec, job bookkeeping, streaming. No training logic here."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc

from bridge._proto.distillbridge.v1 import distiller_pb2 as pb
from bridge._proto.distillbridge.v1 import distiller_pb2_grpc as pb_grpc
from bridge.data import BUILTIN_DATASETS, check_dataset
from bridge.errors import DistillError
from bridge.models import ZOO, resolve_teacher
from bridge.server.jobs import JobManager, JobRecord
from bridge.spec import DistillSpec, SpecError, spec_from_proto

CHUNK_BYTES = 256 * 1024
log = logging.getLogger("bridge.server")


class DistillerServicer(pb_grpc.DistillerServiceServicer):
    def __init__(self, jobs: JobManager) -> None:
        self.jobs = jobs

    # ------------------------------------------------------------ jobs

    def SubmitJob(self, request: pb.SubmitJobRequest, context: grpc.ServicerContext) -> pb.Job:
        try:
            spec = spec_from_proto(request.spec)
            self._check_references(spec)
        except SpecError as e:
            context.abort(grpc.StatusCode[e.code], str(e))
        try:
            job = self.jobs.submit(spec)
        except DistillError as e:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(e))
        log.info(
            "job %s submitted: teacher=%s dataset=%s",
            job.job_id,
            spec.teacher,
            spec.dataset.display_name,
        )
        return job.to_proto()

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

    def WatchJob(
        self, request: pb.WatchJobRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.JobEvent]:
        job = self._job(request.job_id, context)
        if request.from_sequence < 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "from_sequence: must be >= 0")
        yield from self.jobs.watch(job.job_id, request.from_sequence, context.is_active)

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
        yield from _chunks(job, entry, request.offset)

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

    def _check_references(self, spec: DistillSpec) -> None:
        """What can be checked before queueing: teacher and dataset exist, and fit together."""
        root = self.jobs.paths.data_root
        check_dataset(spec.dataset, root)
        builtin = BUILTIN_DATASETS.get(spec.dataset.name or "")
        resolve_teacher(spec.teacher, spec.dataset, root, builtin.modality if builtin else None)
        if builtin is None:
            return
        needs = {"cnn": ("image",), "transformer": ("text",), "mlp": ("tabular", "image")}
        arch = spec.student.architecture
        if builtin.modality not in needs[arch]:
            raise SpecError(
                f"student.{arch}",
                f"{arch} students need {' or '.join(needs[arch])} data; dataset "
                f"{builtin.name!r} is {builtin.modality}",
            )


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
