package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Timestamp;
import dev.distillbridge.proto.v1.UploadResult;
import io.grpc.Status;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link DistillBridge#deleteJob}, {@link DistillBridge#listUploads} and
 * {@link DistillBridge#deleteUpload} against the fake server.
 */
class StorageHousekeepingTest {
    private static final String SHA = "ab".repeat(32);

    private FakeServer fake;

    @BeforeEach
    void start() {
        fake = new FakeServer();
        fake.service.withFile("model.onnx", "onnx-bytes").withFile("manifest.json", "{}");
    }

    @AfterEach
    void stop() {
        fake.close();
    }

    private static Timestamp ts(long seconds, int nanos) {
        return Timestamp.newBuilder().setSeconds(seconds).setNanos(nanos).build();
    }

    /** A zipped teacher two jobs still need, and a dataset never used (no last_used_at on the wire). */
    private void storeTwoUploads() {
        fake.service.uploads.add(UploadResult.newBuilder().setUploadId("upl-model").setFileName("bert.zip")
                .setSizeBytes(1234).setSha256(SHA).setKind(dev.distillbridge.proto.v1.UploadKind.UPLOAD_KIND_MODEL)
                .setExtracted(true).setCreatedAt(ts(1_700_000_000, 5)).setLastUsedAt(ts(1_700_000_100, 0))
                .addActiveJobIds("job-1").addActiveJobIds("job-2").build());
        fake.service.uploads.add(UploadResult.newBuilder().setUploadId("upl-data").setFileName("reviews.csv")
                .setSizeBytes(77).setSha256(SHA).setKind(dev.distillbridge.proto.v1.UploadKind.UPLOAD_KIND_DATASET)
                .setCreatedAt(ts(1_700_000_200, 0)).build());
    }

    @Test
    void listUploadsMapsEveryFieldAndSendsTheKind() {
        storeTwoUploads();
        List<UploadInfo> all = fake.bridge.listUploads();
        assertEquals(List.of(
                new UploadInfo("upl-model", "bert.zip", UploadKind.MODEL, 1234, SHA, true,
                        Instant.ofEpochSecond(1_700_000_000, 5), Instant.ofEpochSecond(1_700_000_100),
                        List.of("job-1", "job-2")),
                new UploadInfo("upl-data", "reviews.csv", UploadKind.DATASET, 77, SHA, false,
                        Instant.ofEpochSecond(1_700_000_200), Instant.ofEpochSecond(1_700_000_200), List.of())),
                all);
        assertThrows(UnsupportedOperationException.class, () -> all.get(0).activeJobIds().add("job-3"));

        assertEquals(List.of("upl-data"),
                fake.bridge.listUploads(UploadKind.DATASET).stream().map(UploadInfo::uploadId).toList());
        assertEquals(List.of("upl-model"),
                fake.bridge.listUploads(UploadKind.MODEL).stream().map(UploadInfo::uploadId).toList());
        assertEquals(List.of(dev.distillbridge.proto.v1.UploadKind.UPLOAD_KIND_UNSPECIFIED,
                        dev.distillbridge.proto.v1.UploadKind.UPLOAD_KIND_DATASET,
                        dev.distillbridge.proto.v1.UploadKind.UPLOAD_KIND_MODEL),
                fake.service.listUploadsRequests.stream().map(r -> r.getKind()).toList());

        NullPointerException npe = assertThrows(NullPointerException.class, () -> fake.bridge.listUploads(null));
        assertEquals("kind", npe.getMessage());
    }

    @Test
    void anUploadKindThisClientDoesNotKnowIsAnInternalError() {
        fake.service.uploads.add(UploadResult.newBuilder().setUploadId("upl-odd").setCreatedAt(ts(1, 0)).build());
        DistillException e = assertThrows(DistillException.class, fake.bridge::listUploads);
        assertEquals(Status.Code.INTERNAL, e.getStatusCode());
        assertTrue(e.getMessage().contains("UPLOAD_KIND_UNSPECIFIED"), e.getMessage());
    }

    @Test
    void aRunningJobCannotBeDeletedAFinishedOneCanOnce() {
        DistillException refused = assertThrows(DistillException.class,
                () -> fake.bridge.deleteJob(FakeDistillerService.JOB_ID));
        assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatusCode());
        assertTrue(refused.getMessage().contains("job_id: job job-1 is running; cancel it before deleting it"),
                refused.getMessage());
        assertEquals(FakeDistillerService.JOB_ID, refused.getJobId().orElseThrow());
        assertEquals(List.of(), fake.service.deleted);

        fake.service.jobFinished = true;
        assertEquals("onnx-bytes".length() + "{}".length(), fake.bridge.deleteJob(FakeDistillerService.JOB_ID));
        assertEquals(List.of(FakeDistillerService.JOB_ID), fake.service.deleted);

        DistillException gone = assertThrows(DistillException.class,
                () -> fake.bridge.deleteJob(FakeDistillerService.JOB_ID));
        assertEquals(Status.Code.NOT_FOUND, gone.getStatusCode());
        assertEquals(FakeDistillerService.JOB_ID, gone.getJobId().orElseThrow());

        NullPointerException npe = assertThrows(NullPointerException.class, () -> fake.bridge.deleteJob(null));
        assertEquals("jobId", npe.getMessage());
    }

    @Test
    void anUploadInUseCannotBeDeletedAnUnusedOneCan() {
        storeTwoUploads();
        DistillException refused = assertThrows(DistillException.class, () -> fake.bridge.deleteUpload("upl-model"));
        assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatusCode());
        assertTrue(refused.getMessage().contains(
                "upload_id: upl-model is referenced by queued or running job(s) job-1, job-2"), refused.getMessage());

        assertEquals(77, fake.bridge.deleteUpload("upl-data"));
        assertEquals(List.of("upl-model"), fake.bridge.listUploads().stream().map(UploadInfo::uploadId).toList());

        DistillException unknown = assertThrows(DistillException.class, () -> fake.bridge.deleteUpload("upl-data"));
        assertEquals(Status.Code.NOT_FOUND, unknown.getStatusCode());
        assertTrue(unknown.getMessage().contains("upl-data"), unknown.getMessage());

        NullPointerException npe = assertThrows(NullPointerException.class, () -> fake.bridge.deleteUpload(null));
        assertEquals("uploadId", npe.getMessage());
    }
}
