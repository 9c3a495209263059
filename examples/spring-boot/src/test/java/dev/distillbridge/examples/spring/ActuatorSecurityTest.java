package dev.distillbridge.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * {@link SecurityConfiguration} with the hot-swap endpoint turned on, on a management port of its
 * own: without the operator's credentials the endpoint refuses (401) and health shows only its
 * status; with them the endpoint answers and health shows the self-check. {@code /predict} stays
 * open. No Distill Bridge server is needed: the refused calls never reach the endpoint and the
 * accepted ones are answered before anything is sent.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class ActuatorSecurityTest {
    private static final Map<String, Object> BAD_JOB = Map.of("teacher", "digits-mlp", "dataset", "digits",
            "hiddenSizes", "8", "epochs", 0);

    @Autowired
    TestRestTemplate http;

    @LocalManagementPort
    int managementPort;

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        registry.add("distillbridge.model.path", () -> TestArtifacts.tabular().toString());
        registry.add("distillbridge.server.target", () -> "127.0.0.1:1");
        registry.add("distillbridge.server.plaintext", () -> "true");
        registry.add("management.endpoint.distillbridge.access", () -> "unrestricted");
        registry.add("management.endpoints.web.exposure.include", () -> "health,distillbridge");
        registry.add("management.server.port", () -> "0");
        Operator.register(registry);
    }

    @Test
    void theHotSwapEndpointRefusesCallersWithoutTheOperatorsCredentials() {
        assertThat(http.getForEntity(management("/actuator/distillbridge"), String.class).getStatusCode())
                .isEqualTo(HttpStatus.UNAUTHORIZED);
        assertThat(http.postForEntity(management("/actuator/distillbridge"), BAD_JOB, String.class).getStatusCode())
                .isEqualTo(HttpStatus.UNAUTHORIZED);
        TestRestTemplate wrongPassword = http.withBasicAuth(Operator.NAME, "not-the-password");
        assertThat(wrongPassword.getForEntity(management("/actuator/distillbridge"), String.class).getStatusCode())
                .isEqualTo(HttpStatus.UNAUTHORIZED);
    }

    @Test
    void theOperatorReachesTheHotSwapEndpoint() {
        ResponseEntity<Map> model = Operator.as(http).getForEntity(management("/actuator/distillbridge"), Map.class);
        assertThat(model.getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(model.getBody().get("modelId")).isEqualTo("fixture-tiny");
        // a write gets through too (no CSRF token needed) and is judged by the endpoint itself
        ResponseEntity<Map> refused = Operator.as(http).postForEntity(management("/actuator/distillbridge"), BAD_JOB,
                Map.class);
        assertThat(refused.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat((String) refused.getBody().get("detail")).contains("training.epochs: must be > 0");
    }

    @Test
    void healthDetailsAreShownOnlyToTheOperator() {
        Map<?, ?> anonymous = http.getForObject(management("/actuator/health"), Map.class);
        assertThat(anonymous.get("status")).isEqualTo("UP");
        assertThat(anonymous.keySet()).map(String::valueOf).doesNotContain("components", "details");
        Map<?, ?> operator = Operator.as(http).getForObject(management("/actuator/health"), Map.class);
        Map<?, ?> components = (Map<?, ?>) operator.get("components");
        Map<?, ?> details = (Map<?, ?>) ((Map<?, ?>) components.get("distilledModel")).get("details");
        assertThat(details.get("jobId")).isEqualTo("fixture-tiny");
        assertThat(details.keySet()).map(String::valueOf).contains("sha256", "modelFile", "onnxRuntimeVersion");
    }

    @Test
    void predictionsNeedNoCredentialsAndTheApplicationPortHasNoActuator() {
        ResponseEntity<Map> prediction = http.postForEntity("/predict",
                Map.of("features", new float[] {5.1f, 3.5f, -1.4f, 0.2f}), Map.class);
        assertThat(prediction.getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(Operator.as(http).getForEntity("/actuator/distillbridge", String.class).getStatusCode())
                .isEqualTo(HttpStatus.NOT_FOUND);
    }

    private String management(String path) {
        return "http://localhost:" + managementPort + path;
    }
}
