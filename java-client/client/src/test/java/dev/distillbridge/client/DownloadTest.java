package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.distillbridge.proto.v1.DownloadArtifactRequest;
import dev.distillbridge.proto.v1.JobState;
import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.MlpConfig;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DownloadTest {
    private static final byte[] MODEL = randomBytes(5_500, 1);
    private static final String MANIFEST = "{\"format_version\": 1, \"job_id\": \"job-1\"}";

    @TempDir
    Path dir;
    private FakeServer fake;

    @BeforeEach
    void start() {
        fake = new FakeServer();
        fake.service.withFile("model.onnx", MODEL).withFile("manifest.json", MANIFEST);
    }

    @AfterEach
    void stop() {
        fake.close();
    }

    private DistillationResult distill() {
        fake.service.scriptJob(JobState.JOB_STATE_SUCCEEDED, "", fake.service.result(Map.of()));
        return fake.bridge.newDistiller().setTeacherModel("t").setStudentConfig(new MlpConfig().setHiddenSizes(4))
                .distill(Dataset.builtin("d"), null);
    }

    @Test
    void downloadWritesEveryFileAndLeavesNoPartFiles() throws IOException {
        Path out = distill().download(dir.resolve("artifact"));

        assertEquals(dir.resolve("artifact"), out);
        assertArrayEquals(MODEL, Files.readAllBytes(out.resolve("model.onnx")));
        assertEquals(MANIFEST, Files.readString(out.resolve("manifest.json")));
        assertEquals(List.of("manifest.json", "model.onnx"), listing(out));
    }

    @Test
    void aBrokenStreamResumesFromTheBytesAlreadyWritten() throws IOException {
        fake.service.breakDownloadOf = "model.onnx";
        Path out = distill().download(dir);

        List<Long> offsets = fake.service.downloadRequests.stream()
                .filter(r -> r.getFileName().equals("model.onnx")).map(DownloadArtifactRequest::getOffset).toList();
        assertEquals(List.of(0L, 1000L), offsets, "the retry asks for the rest only");
        assertArrayEquals(MODEL, Files.readAllBytes(out.resolve("model.onnx")));
        assertEquals(List.of("manifest.json", "model.onnx"), listing(out));
    }

    @Test
    void aHashMismatchIsDataLossAndLeavesNothingBehind() throws IOException {
        DistillationResult result = distill();
        fake.service.files.put("model.onnx", randomBytes(MODEL.length, 2)); // same size, other bytes

        ArtifactVerificationException e = assertThrows(ArtifactVerificationException.class, () -> result.download(dir));
        assertEquals(Status.Code.DATA_LOSS, e.getStatusCode());
        assertEquals("model.onnx", e.getFileName());
        assertTrue(e.getMessage().contains("sha256 mismatch for model.onnx"), e.getMessage());
        assertEquals(FakeDistillerService.JOB_ID, e.getJobId().orElseThrow());
        assertFalse(Files.exists(dir.resolve("model.onnx")));
        assertFalse(Files.exists(dir.resolve("model.onnx.part")));
    }

    @Test
    void aStreamThatDisagreesWithTheJobResultIsDataLoss() {
        DistillationResult result = distill();
        fake.service.claimedSha.put("model.onnx", "00".repeat(32));

        ArtifactVerificationException e = assertThrows(ArtifactVerificationException.class, () -> result.download(dir));
        assertTrue(e.getMessage().contains("the download stream says 0000"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("model.onnx")));
    }

    @Test
    void filesAlreadyPresentAndCorrectAreNotFetchedAgain() throws IOException {
        DistillationResult result = distill();
        result.download(dir);
        int requests = fake.service.downloadRequests.size();

        result.download(dir);
        assertEquals(requests, fake.service.downloadRequests.size());
        assertArrayEquals(MODEL, Files.readAllBytes(dir.resolve("model.onnx")));
    }

    @Test
    void aLeftoverPartFileIsResumed() throws IOException {
        DistillationResult result = distill();
        Files.write(dir.resolve("model.onnx.part"), java.util.Arrays.copyOf(MODEL, 2000));

        result.download(dir);
        assertEquals(2000L, fake.service.downloadRequests.stream()
                .filter(r -> r.getFileName().equals("model.onnx")).findFirst().orElseThrow().getOffset());
        assertArrayEquals(MODEL, Files.readAllBytes(dir.resolve("model.onnx")));
    }

    @Test
    void aFileNameThatEscapesTheDirectoryIsRefused() {
        fake.service.files.clear();
        fake.service.withFile("../evil", "x");
        DistillationResult result = distill();
        assertThrows(ArtifactVerificationException.class, () -> result.download(dir.resolve("a")));
        assertFalse(Files.exists(dir.resolve("evil")));
    }

    @Test
    void reportFilesArriveInTheirSubdirectory() throws IOException {
        fake.service.withFile("report/report.md", "# report");
        Path out = distill().download(dir.resolve("artifact"));

        assertEquals("# report", Files.readString(out.resolve("report").resolve("report.md")));
        assertEquals(List.of("report.md"), listing(out.resolve("report")));
    }

    @Test
    void aNestedNameThatEscapesTheDirectoryIsRefused() {
        fake.service.files.clear();
        fake.service.withFile("report/../../evil", "x");
        DistillationResult result = distill();
        assertThrows(ArtifactVerificationException.class, () -> result.download(dir.resolve("a")));
        assertFalse(Files.exists(dir.resolve("evil")));
    }

    @Test
    void serverErrorsOtherThanUnavailableAreNotRetried() {
        DistillationResult result = distill();
        fake.service.files.remove("model.onnx");
        DistillException e = assertThrows(DistillException.class, () -> result.download(dir));
        assertEquals(Status.Code.NOT_FOUND, e.getStatusCode());
        assertEquals(1, fake.service.downloadRequests.stream().filter(r -> r.getFileName().equals("model.onnx")).count());
    }

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] bytes = new byte[n];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
