package dev.distillbridge.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.Precision;
import dev.distillbridge.inference.Prediction;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The same service serving a text model: raw text in, tokenized in the JVM. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class TextPredictEndpointTest {
    @Autowired
    TestRestTemplate http;

    @DynamicPropertySource
    static void artifact(DynamicPropertyRegistry registry) {
        registry.add("distillbridge.model.path", () -> TestArtifacts.text().toString());
        registry.add("distillbridge.model.precision", () -> "FP32");
    }

    @Test
    void rawTextIsClassifiedAsTheModelDoesInTheJvm() {
        String text = "@united 3 hours on the tarmac, no update";
        Prediction expected;
        try (DistilledModel model = DistilledModel.load(TestArtifacts.text(), Precision.FP32)) {
            expected = model.predict(text);
        }
        ResponseEntity<Map> response = http.postForEntity("/predict", Map.of("text", text), Map.class);
        assertThat(response.getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(response.getBody().get("label")).isEqualTo(expected.label());
        assertThat(response.getBody().get("precision")).isEqualTo("FP32");
        Map<?, ?> probabilities = (Map<?, ?>) response.getBody().get("probabilities");
        assertThat(((Number) probabilities.get(expected.label())).floatValue()).isEqualTo(expected.confidence());
    }

    @Test
    void featuresForATextModelAreABadRequest() {
        ResponseEntity<Map> response = http.postForEntity("/predict", Map.of("features", new float[] {1}), Map.class);
        assertThat(response.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat((String) response.getBody().get("detail")).contains("this is a text model");
    }

    @Test
    void healthReplaysTheGoldenTexts() {
        Map<?, ?> health = http.getForObject("/actuator/health", Map.class);
        assertThat(health.get("status")).isEqualTo("UP");
    }
}
