package dev.distillbridge.client;

import com.google.protobuf.ByteString;
import dev.distillbridge.proto.v1.ArtifactChunk;
import dev.distillbridge.proto.v1.CancelJobRequest;
import dev.distillbridge.proto.v1.DeleteJobRequest;
import dev.distillbridge.proto.v1.DeleteJobResponse;
import dev.distillbridge.proto.v1.DeleteUploadRequest;
import dev.distillbridge.proto.v1.DeleteUploadResponse;
import dev.distillbridge.proto.v1.DistillResult;
import dev.distillbridge.proto.v1.DistillSpec;
import dev.distillbridge.proto.v1.DistillerServiceGrpc;
import dev.distillbridge.proto.v1.DownloadArtifactRequest;
import dev.distillbridge.proto.v1.FinishedEvent;
import dev.distillbridge.proto.v1.GetJobRequest;
import dev.distillbridge.proto.v1.Job;
import dev.distillbridge.proto.v1.JobEvent;
import dev.distillbridge.proto.v1.JobState;
import dev.distillbridge.proto.v1.ListTeachersRequest;
import dev.distillbridge.proto.v1.ListTeachersResponse;
import dev.distillbridge.proto.v1.ListUploadsRequest;
import dev.distillbridge.proto.v1.ListUploadsResponse;
import dev.distillbridge.proto.v1.LogEvent;
import dev.distillbridge.proto.v1.ProgressEvent;
import dev.distillbridge.proto.v1.StageEvent;
import dev.distillbridge.proto.v1.SubmitJobRequest;
import dev.distillbridge.proto.v1.TeacherInfo;
import dev.distillbridge.proto.v1.UploadChunk;
import dev.distillbridge.proto.v1.UploadKind;
import dev.distillbridge.proto.v1.UploadResult;
import dev.distillbridge.proto.v1.ValidationEvent;
import dev.distillbridge.proto.v1.WatchJobRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scriptable in-memory DistillerService: one job, "job-1", whose events and artifact files
 * the test sets, with switches to break streams and corrupt hashes. Records every request.
 */
final class FakeDistillerService extends DistillerServiceGrpc.DistillerServiceImplBase {
    static final String JOB_ID = "job-1";

    final List<DistillSpec> submitted = Collections.synchronizedList(new ArrayList<>());
    /** Every SubmitJob request that got through, validate_only ones included. */
    final List<SubmitJobRequest> submitRequests = Collections.synchronizedList(new ArrayList<>());
    /** Every completed upload: its id, kind, file name and size. ListUploads answers these; tests may add more. */
    final List<UploadResult> uploads = Collections.synchronizedList(new ArrayList<>());
    final List<ListUploadsRequest> listUploadsRequests = Collections.synchronizedList(new ArrayList<>());
    /** Jobs and uploads DeleteJob / DeleteUpload removed. */
    final List<String> deleted = Collections.synchronizedList(new ArrayList<>());
    /** When false, DeleteJob refuses job-1 as the real server refuses a queued or running job. */
    volatile boolean jobFinished;
    /** What SubmitJob with validate_only answers as the normalized spec; null = the spec it got. */
    volatile DistillSpec normalized;
    final List<WatchJobRequest> watchRequests = Collections.synchronizedList(new ArrayList<>());
    final List<DownloadArtifactRequest> downloadRequests = Collections.synchronizedList(new ArrayList<>());
    final List<String> cancelled = Collections.synchronizedList(new ArrayList<>());
    final Map<String, byte[]> files = new LinkedHashMap<>();
    /** SHA-256 the server claims for a file instead of the real one. */
    final Map<String, String> claimedSha = new ConcurrentHashMap<>();

    volatile Status submitError;
    volatile List<JobEvent> events = List.of();
    /** When >= 0, the next WatchJob fails with UNAVAILABLE after sending this many events. */
    volatile int breakWatchAfter = -1;
    /** When set, the next download of this file fails with UNAVAILABLE after its first chunk. */
    volatile String breakDownloadOf;
    volatile int chunkSize = 1000;
    /** When false, WatchJob never sends the final event and never ends (until cancelled). */
    volatile boolean watchEnds = true;
    /** When set, SubmitJob waits for it before answering. */
    volatile CountDownLatch submitGate;
    /** Every SubmitJob call, failed ones included. */
    final AtomicInteger submitAttempts = new AtomicInteger();
    /** Every ListTeachers and GetJob call. */
    final AtomicInteger listTeachersCalls = new AtomicInteger();
    final AtomicInteger getJobCalls = new AtomicInteger();
    /** The next {@code failuresLeft} ListTeachers/GetJob calls fail with {@code failWith}. */
    final AtomicInteger failuresLeft = new AtomicInteger();
    volatile Status failWith = Status.UNAVAILABLE.withDescription("server restarting");
    /** When true, GetJob never answers (until the call is cancelled or its deadline passes). */
    volatile boolean getJobHangs;
    /** WatchJob streams that were cancelled by the client. */
    final AtomicInteger watchesCancelled = new AtomicInteger();

    // ------------------------------------------------------------ scripting helpers

    FakeDistillerService withFile(String name, byte[] content) {
        files.put(name, content);
        return this;
    }

    FakeDistillerService withFile(String name, String content) {
        return withFile(name, content.getBytes(StandardCharsets.UTF_8));
    }

    /** A result listing every file with its true size and hash (or the claimed one). */
    DistillResult result(Map<String, Double> metrics) {
        DistillResult.Builder result = DistillResult.newBuilder().putAllMetrics(metrics)
                .setManifestJson("{\"format_version\": 1}");
        files.forEach((name, content) -> result.addFiles(dev.distillbridge.proto.v1.ArtifactFile.newBuilder()
                .setName(name).setSizeBytes(content.length).setSha256(sha256(content))));
        return result.build();
    }

    /** Scripts: stage, progress, validation, log, then finished(state). */
    void scriptJob(JobState state, String error, DistillResult result) {
        FinishedEvent.Builder finished = FinishedEvent.newBuilder().setState(state).setError(error);
        if (result != null) {
            finished.setResult(result);
        }
        events = List.of(
                event(0).setStage(StageEvent.newBuilder().setStage("train").setMessage("training student")).build(),
                event(1).setProgress(ProgressEvent.newBuilder().setEpoch(1).setEpochs(2).setStep(10)
                        .setStepsPerEpoch(10).setLoss(0.5).setSoftLoss(0.3).setHardLoss(0.7)).build(),
                event(2).setValidation(ValidationEvent.newBuilder().setEpoch(1).setAccuracy(0.9).setBest(true)).build(),
                event(3).setLog(LogEvent.newBuilder().setLevel("INFO").setMessage("exporting")).build(),
                event(4).setFinished(finished).build());
    }

    static JobEvent.Builder event(long sequence) {
        return JobEvent.newBuilder().setJobId(JOB_ID).setSequence(sequence);
    }

    static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------ the service

    @Override
    public void submitJob(SubmitJobRequest request, StreamObserver<Job> response) {
        submitAttempts.incrementAndGet();
        CountDownLatch gate = submitGate;
        if (gate != null) {
            try {
                gate.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (submitError != null) {
            response.onError(submitError.asRuntimeException());
            return;
        }
        submitRequests.add(request);
        if (request.getValidateOnly()) {
            // As the real server: no job id, state UNSPECIFIED, the normalized spec; nothing queued.
            DistillSpec answer = normalized != null ? normalized : request.getSpec();
            response.onNext(Job.newBuilder().setSpec(answer).build());
            response.onCompleted();
            return;
        }
        submitted.add(request.getSpec());
        response.onNext(job(JobState.JOB_STATE_QUEUED).setSpec(request.getSpec()).build());
        response.onCompleted();
    }

    @Override
    public StreamObserver<UploadChunk> uploadModel(StreamObserver<UploadResult> response) {
        return upload(UploadKind.UPLOAD_KIND_MODEL, response);
    }

    @Override
    public StreamObserver<UploadChunk> uploadDataset(StreamObserver<UploadResult> response) {
        return upload(UploadKind.UPLOAD_KIND_DATASET, response);
    }

    /** Accepts any upload whose size and SHA-256 match its metadata; ids are "upl-<n>". */
    private StreamObserver<UploadChunk> upload(UploadKind kind, StreamObserver<UploadResult> response) {
        return new StreamObserver<>() {
            private final java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
            private dev.distillbridge.proto.v1.UploadMetadata metadata;

            @Override
            public void onNext(UploadChunk chunk) {
                if (chunk.hasMetadata()) {
                    metadata = chunk.getMetadata();
                } else {
                    data.writeBytes(chunk.getData().toByteArray());
                }
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
                byte[] bytes = data.toByteArray();
                if (metadata == null || metadata.getTotalSize() != bytes.length
                        || !metadata.getSha256().equals(sha256(bytes))) {
                    response.onError(Status.DATA_LOSS.withDescription("size or sha256 mismatch").asRuntimeException());
                    return;
                }
                UploadResult result = UploadResult.newBuilder().setUploadId("upl-" + (uploads.size() + 1))
                        .setFileName(metadata.getFileName()).setSizeBytes(bytes.length)
                        .setSha256(metadata.getSha256()).setKind(kind).build();
                uploads.add(result);
                response.onNext(result);
                response.onCompleted();
            }
        };
    }

    @Override
    public void watchJob(WatchJobRequest request, StreamObserver<JobEvent> response) {
        watchRequests.add(request);
        ((ServerCallStreamObserver<JobEvent>) response).setOnCancelHandler(watchesCancelled::incrementAndGet);
        if (!request.getJobId().equals(JOB_ID)) {
            response.onError(Status.NOT_FOUND.withDescription("job_id: no job " + request.getJobId()).asRuntimeException());
            return;
        }
        int sent = 0;
        for (JobEvent event : events) {
            if (event.getSequence() < request.getFromSequence()) {
                continue;
            }
            if (sent == breakWatchAfter) {
                breakWatchAfter = -1;
                response.onError(Status.UNAVAILABLE.withDescription("connection reset").asRuntimeException());
                return;
            }
            if (!watchEnds && event.hasFinished()) {
                return; // hang: never finish, never complete
            }
            response.onNext(event);
            sent++;
        }
        response.onCompleted();
    }

    @Override
    public void downloadArtifact(DownloadArtifactRequest request, StreamObserver<ArtifactChunk> response) {
        downloadRequests.add(request);
        byte[] content = files.get(request.getFileName());
        if (content == null) {
            response.onError(Status.NOT_FOUND.withDescription("file_name: " + request.getFileName()).asRuntimeException());
            return;
        }
        String sha = claimedSha.getOrDefault(request.getFileName(), sha256(content));
        for (int offset = (int) request.getOffset(); offset < content.length; offset += chunkSize) {
            int end = Math.min(content.length, offset + chunkSize);
            response.onNext(ArtifactChunk.newBuilder().setFileName(request.getFileName()).setOffset(offset)
                    .setData(ByteString.copyFrom(content, offset, end - offset))
                    .setTotalSize(content.length).setSha256(sha).build());
            if (request.getFileName().equals(breakDownloadOf)) {
                breakDownloadOf = null;
                response.onError(Status.UNAVAILABLE.withDescription("connection reset").asRuntimeException());
                return;
            }
        }
        response.onCompleted();
    }

    @Override
    public void listTeachers(ListTeachersRequest request, StreamObserver<ListTeachersResponse> response) {
        listTeachersCalls.incrementAndGet();
        if (failedOnPurpose(response)) {
            return;
        }
        response.onNext(ListTeachersResponse.newBuilder().addTeachers(TeacherInfo.newBuilder()
                .setName("german-credit-mlp").setArchitecture("mlp").setDataset("german-credit")
                .setParameters(1234).setCached(true)).build());
        response.onCompleted();
    }

    @Override
    public void getJob(GetJobRequest request, StreamObserver<Job> response) {
        getJobCalls.incrementAndGet();
        if (getJobHangs || failedOnPurpose(response)) {
            return;
        }
        if (!request.getJobId().equals(JOB_ID)) {
            response.onError(Status.NOT_FOUND.withDescription("job_id: no job " + request.getJobId()).asRuntimeException());
            return;
        }
        response.onNext(job(JobState.JOB_STATE_RUNNING).setStage("train").build());
        response.onCompleted();
    }

    @Override
    public void cancelJob(CancelJobRequest request, StreamObserver<Job> response) {
        cancelled.add(request.getJobId());
        response.onNext(job(JobState.JOB_STATE_CANCELLED).build());
        response.onCompleted();
    }

    /** As the real server: FAILED_PRECONDITION while job-1 is not finished; frees its files' bytes. */
    @Override
    public void deleteJob(DeleteJobRequest request, StreamObserver<DeleteJobResponse> response) {
        String id = request.getJobId();
        if (!id.equals(JOB_ID) || deleted.contains(id)) {
            response.onError(Status.NOT_FOUND.withDescription("job_id: no job " + id).asRuntimeException());
            return;
        }
        if (!jobFinished) {
            response.onError(Status.FAILED_PRECONDITION
                    .withDescription("job_id: job " + id + " is running; cancel it before deleting it")
                    .asRuntimeException());
            return;
        }
        deleted.add(id);
        long freed = files.values().stream().mapToLong(content -> content.length).sum();
        response.onNext(DeleteJobResponse.newBuilder().setJobId(id).setFreedBytes(freed).build());
        response.onCompleted();
    }

    /** {@link #uploads} of the requested kind (all when unspecified), in the order they were added. */
    @Override
    public void listUploads(ListUploadsRequest request, StreamObserver<ListUploadsResponse> response) {
        listUploadsRequests.add(request);
        ListUploadsResponse.Builder answer = ListUploadsResponse.newBuilder();
        synchronized (uploads) {
            uploads.stream().filter(u -> request.getKind() == UploadKind.UPLOAD_KIND_UNSPECIFIED
                    || u.getKind() == request.getKind()).forEach(answer::addUploads);
        }
        response.onNext(answer.build());
        response.onCompleted();
    }

    /** As the real server: FAILED_PRECONDITION naming the upload's active jobs; frees its size. */
    @Override
    public void deleteUpload(DeleteUploadRequest request, StreamObserver<DeleteUploadResponse> response) {
        String id = request.getUploadId();
        UploadResult upload;
        synchronized (uploads) {
            upload = uploads.stream().filter(u -> u.getUploadId().equals(id)).findFirst().orElse(null);
        }
        if (upload == null) {
            response.onError(Status.NOT_FOUND.withDescription("upload_id: no upload '" + id + "'").asRuntimeException());
            return;
        }
        if (upload.getActiveJobIdsCount() > 0) {
            response.onError(Status.FAILED_PRECONDITION.withDescription("upload_id: " + id
                    + " is referenced by queued or running job(s) " + String.join(", ", upload.getActiveJobIdsList())
                    + "; it can be deleted once they end").asRuntimeException());
            return;
        }
        uploads.remove(upload);
        deleted.add(id);
        response.onNext(DeleteUploadResponse.newBuilder().setUploadId(id).setFreedBytes(upload.getSizeBytes()).build());
        response.onCompleted();
    }

    private boolean failedOnPurpose(StreamObserver<?> response) {
        if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            response.onError(failWith.asRuntimeException());
            return true;
        }
        return false;
    }

    private static Job.Builder job(JobState state) {
        return Job.newBuilder().setJobId(JOB_ID).setState(state);
    }
}
