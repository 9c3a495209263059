package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.distillbridge.spec.Dataset;
import dev.distillbridge.spec.MlpConfig;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * How the client behaves on the wire, against the in-process fake: retries through the gRPC
 * service config, deadlines, status mapping, option validation.
 */
class ChannelBehaviourTest {
    private static final Map<String, ?> FAST_RETRIES =
            DistillBridge.serviceConfig(3, Duration.ofMillis(1), Duration.ofMillis(5));

    @Test
    void readOnlyCallsAreRetriedOnUnavailable() {
        try (FakeServer fake = new FakeServer(FAST_RETRIES)) {
            fake.service.failuresLeft.set(2);
            assertEquals("german-credit-mlp", fake.bridge.listTeachers().get(0).name());
            assertEquals(3, fake.service.listTeachersCalls.get(), "two failures, then the answer");

            fake.service.failuresLeft.set(2);
            assertEquals(dev.distillbridge.client.JobState.RUNNING, fake.bridge.getJob("job-1").state());
            assertEquals(3, fake.service.getJobCalls.get());
        }
    }

    @Test
    void retriesGiveUpAfterMaxAttemptsWithTheServersStatus() {
        try (FakeServer fake = new FakeServer(FAST_RETRIES)) {
            fake.service.failuresLeft.set(10);
            DistillException e = assertThrows(DistillException.class, fake.bridge::listTeachers);
            assertEquals(Status.Code.UNAVAILABLE, e.getStatusCode());
            assertEquals("server restarting", e.getStatus().getDescription());
            assertEquals(3, fake.service.listTeachersCalls.get());
        }
    }

    @Test
    void otherCodesAreNotRetried() {
        try (FakeServer fake = new FakeServer(FAST_RETRIES)) {
            fake.service.failuresLeft.set(1);
            fake.service.failWith = Status.INTERNAL.withDescription("boom");
            DistillException e = assertThrows(DistillException.class, fake.bridge::listTeachers);
            assertEquals(Status.Code.INTERNAL, e.getStatusCode());
            assertEquals(1, fake.service.listTeachersCalls.get());
        }
    }

    @Test
    void submitIsNeverRetriedBecauseItIsNotIdempotent() {
        try (FakeServer fake = new FakeServer(FAST_RETRIES)) {
            fake.service.submitError = Status.UNAVAILABLE.withDescription("server restarting");
            DistillException e = assertThrows(DistillException.class, () -> fake.bridge.newDistiller()
                    .setTeacherModel("german-credit-mlp").setStudentConfig(new MlpConfig().setHiddenSizes(8))
                    .distill(Dataset.builtin("german-credit"), null));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatusCode());
            assertEquals(1, fake.service.submitAttempts.get());
        }
    }

    @Test
    void withoutTheServiceConfigNothingIsRetried() {
        try (FakeServer fake = new FakeServer(DistillBridge.serviceConfig(1, Duration.ofMillis(1), Duration.ofMillis(1)))) {
            fake.service.failuresLeft.set(1);
            assertEquals(Status.Code.UNAVAILABLE,
                    assertThrows(DistillException.class, fake.bridge::listTeachers).getStatusCode());
            assertEquals(1, fake.service.listTeachersCalls.get());
        }
    }

    @Test
    void theServiceConfigNamesOnlyReadOnlyMethods() {
        Map<String, ?> config = DistillBridge.serviceConfig();
        List<?> methodConfigs = (List<?>) config.get("methodConfig");
        Map<?, ?> methodConfig = (Map<?, ?>) methodConfigs.get(0);
        List<String> methods = ((List<?>) methodConfig.get("name")).stream()
                .map(n -> (String) ((Map<?, ?>) n).get("method")).toList();
        assertEquals(List.of("ListTeachers", "ListDatasets", "ListJobs", "GetJob", "ListUploads", "WatchJob",
                "DownloadArtifact"), methods);
        Map<?, ?> retry = (Map<?, ?>) methodConfig.get("retryPolicy");
        assertEquals(4.0, retry.get("maxAttempts"));
        assertEquals("0.2s", retry.get("initialBackoff"));
        assertEquals("5s", retry.get("maxBackoff"));
        assertEquals(List.of("UNAVAILABLE"), retry.get("retryableStatusCodes"));
    }

    @Test
    void aUnaryCallEndsAtTheCallTimeout() {
        try (FakeServer fake = new FakeServer()) {
            fake.service.getJobHangs = true;
            try (DistillBridge bridge = DistillBridge.forChannel(fake.channel(), Duration.ofMillis(150))) {
                DistillException e = assertThrows(DistillException.class, () -> bridge.getJob("job-1"));
                assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatusCode());
                assertEquals("job-1", e.getJobId().orElseThrow());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Status.Code.class, names = {"NOT_FOUND", "PERMISSION_DENIED", "UNAUTHENTICATED",
            "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "DATA_LOSS", "INTERNAL"})
    void serverStatusesReachTheCallerUnchanged(Status.Code code) {
        try (FakeServer fake = new FakeServer()) {
            fake.service.failuresLeft.set(1);
            fake.service.failWith = code.toStatus().withDescription("job_id: says the server");
            DistillException e = assertThrows(DistillException.class, () -> fake.bridge.getJob("job-1"));
            assertEquals(code, e.getStatusCode());
            assertEquals("job_id: says the server", e.getStatus().getDescription());
            assertTrue(e.getMessage().startsWith(code.name() + ": job_id: says the server"), e.getMessage());
            assertEquals("job-1", e.getJobId().orElseThrow());
        }
    }

    @Test
    void builderOptionsAreValidatedAtBuildNamingTheField() {
        IllegalArgumentException keepAlive = assertThrows(IllegalArgumentException.class, () -> DistillBridge
                .builder("localhost:1").keepAlive(Duration.ofSeconds(5), Duration.ofSeconds(1)).build());
        assertTrue(keepAlive.getMessage().startsWith("keepAliveTime: must be >= PT20S"), keepAlive.getMessage());
        IllegalArgumentException retry = assertThrows(IllegalArgumentException.class, () -> DistillBridge
                .builder("localhost:1").retry(6, Duration.ofMillis(10), Duration.ofMillis(1)).build());
        assertTrue(retry.getMessage().contains("maxAttempts: must be in [1, 5], got 6"), retry.getMessage());
        assertTrue(retry.getMessage().contains("maxBackoff: must be >= initialBackoff"), retry.getMessage());
        IllegalArgumentException timeout = assertThrows(IllegalArgumentException.class, () -> DistillBridge
                .builder("localhost:1").callTimeout(Duration.ZERO).bearerToken(" ").build());
        assertTrue(timeout.getMessage().contains("callTimeout: must be positive"), timeout.getMessage());
        assertTrue(timeout.getMessage().contains("bearerToken: must not be blank"), timeout.getMessage());
    }

    @Test
    void aValidBuilderOpensAChannelLazily() {
        // Nothing listens on this port: building must not connect, only the first call does.
        try (DistillBridge bridge = DistillBridge.builder("127.0.0.1:1").keepAlive(Duration.ofSeconds(30),
                Duration.ofSeconds(5)).retry(2, Duration.ofMillis(1), Duration.ofMillis(2))
                .callTimeout(Duration.ofSeconds(5)).build()) {
            DistillException e = assertThrows(DistillException.class, bridge::listTeachers);
            assertEquals(Status.Code.UNAVAILABLE, e.getStatusCode());
        }
    }
}
