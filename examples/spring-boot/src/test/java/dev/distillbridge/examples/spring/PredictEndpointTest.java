package dev.distillbridge.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.Prediction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The service on a random port with the tiny tabular artifact, called over real HTTP. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class PredictEndpointTest {
    private static final float[] SAMPLE = {5.1f, 3.5f, -1.4f, 0.2f};

    @Autowired
    TestRestTemplate http;

    @DynamicPropertySource
    static void artifact(DynamicPropertyRegistry registry) {
        registry.add("distillbridge.model.path", () -> TestArtifacts.tabular().toString());
        registry.add("distillbridge.model.self-check-cache-ttl", () -> "0s");
        Operator.register(registry);
    }

    @Test
    void predictAnswersWhatTheModelAnswersInTheJvm() {
        Prediction expected;
        try (DistilledModel model = DistilledModel.load(TestArtifacts.tabular())) {
            expected = model.predict(SAMPLE);
        }
        ResponseEntity<Map> response = http.postForEntity("/predict", Map.of("features", SAMPLE), Map.class);
        assertThat(response.getStatusCode()).isEqualTo(HttpStatus.OK);
        Map<?, ?> body = response.getBody();
        assertThat(body.get("label")).isEqualTo(expected.label());
        assertThat(body.get("labelIndex")).isEqualTo(expected.labelIndex());
        assertThat(body.get("modelId")).isEqualTo("fixture-tiny");
        assertThat(body.get("precision")).isEqualTo("INT8");
        Map<?, ?> probabilities = (Map<?, ?>) body.get("probabilities");
        assertThat(List.copyOf(probabilities.keySet())).isEqualTo(List.of("setosa", "versicolor", "virginica"));
        float[] p = expected.probabilities();
        assertThat(((Number) probabilities.get("setosa")).floatValue()).isEqualTo(p[0]);
        assertThat(((Number) probabilities.get("versicolor")).floatValue()).isEqualTo(p[1]);
        assertThat(((Number) probabilities.get("virginica")).floatValue()).isEqualTo(p[2]);
    }

    @Test
    void aWrongFeatureCountIsABadRequestThatSaysWhy() {
        ResponseEntity<Map> response = http.postForEntity("/predict", Map.of("features", new float[] {1, 2}), Map.class);
        assertThat(response.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat((String) response.getBody().get("detail")).contains("has 2 values, expected 4");
    }

    @Test
    void textForATabularModelAndAmbiguousRequestsAreBadRequests() {
        ResponseEntity<Map> text = http.postForEntity("/predict", Map.of("text", "hello"), Map.class);
        assertThat(text.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat((String) text.getBody().get("detail"))
                .contains("modality is \"tabular\"", "4 float features", "was given 1 text");
        ResponseEntity<Map> neither = http.postForEntity("/predict", Map.of(), Map.class);
        assertThat(neither.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat((String) neither.getBody().get("detail")).contains("exactly one of");
    }

    @Test
    void theAdminEndpointIsOffUnlessEnabled() {
        ResponseEntity<String> response = http.postForEntity("/actuator/distillbridge", Map.of("teacher", "x"),
                String.class);
        assertThat(response.getStatusCode()).isEqualTo(HttpStatus.NOT_FOUND);
    }

    @Test
    void healthIsUpWithTheSelfCheckAndDownWhenAFileChanges() throws Exception {
        // the details are the operator's (show-details: when-authorized); ActuatorSecurityTest has the rest
        Map<?, ?> up = Operator.as(http).getForObject("/actuator/health", Map.class);
        assertThat(up.get("status")).isEqualTo("UP");
        Map<?, ?> details = details(up);
        assertThat(details.get("jobId")).isEqualTo("fixture-tiny");
        assertThat(((Map<?, ?>) details.get("sha256")).keySet().stream().map(String::valueOf).sorted().toList())
                .isEqualTo(List.of("model.int8.onnx", "model.onnx"));
        assertThat(((Number) details.get("maxGoldenDiff")).doubleValue()).isLessThanOrEqualTo(1e-5);
        assertThat((String) details.get("onnxRuntimeVersion")).startsWith("1.29");

        Path file = TestArtifacts.tabular().resolve("model.onnx");
        byte[] original = Files.readAllBytes(file);
        try {
            byte[] tampered = original.clone();
            tampered[tampered.length / 2] ^= 1;
            Files.write(file, tampered);
            ResponseEntity<Map> down = Operator.as(http).getForEntity("/actuator/health", Map.class);
            assertThat(down.getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
            assertThat(down.getBody().get("status")).isEqualTo("DOWN");
            assertThat(details(down.getBody()).get("problem").toString()).contains("model.onnx");
        } finally {
            Files.write(file, original);
        }
        assertThat(http.getForObject("/actuator/health", Map.class).get("status")).isEqualTo("UP");
    }

    private static Map<?, ?> details(Map<?, ?> health) {
        Map<?, ?> components = (Map<?, ?>) health.get("components");
        return (Map<?, ?>) ((Map<?, ?>) components.get("distilledModel")).get("details");
    }
}
