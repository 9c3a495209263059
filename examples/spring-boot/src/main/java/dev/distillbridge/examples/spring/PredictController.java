package dev.distillbridge.examples.spring;

import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.Prediction;
import dev.distillbridge.spring.LiveModel;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/** {@code POST /predict}: one sample in, the label and class probabilities out. */
@RestController
public class PredictController {
    private final LiveModel model;

    /** Answers with whatever model {@code model} holds at the time of each request. */
    public PredictController(LiveModel model) {
        this.model = model;
    }

    /**
     * One sample: raw features for a tabular or image model, or raw text for a text model.
     *
     * @param features the sample's features, row-major (tabular and image models)
     * @param text the raw text (text models)
     */
    public record PredictRequest(float[] features, String text) {
    }

    /**
     * The model's answer.
     *
     * @param label the predicted label
     * @param labelIndex its index in the model's label list
     * @param probabilities every label's probability, in the model's label order
     * @param modelId the id of the model that answered (its job id)
     * @param precision which of the artifact's models answered (INT8 or FP32)
     */
    public record PredictResponse(String label, int labelIndex, Map<String, Float> probabilities, String modelId,
            String precision) {
    }

    /**
     * Predicts one sample.
     *
     * @throws IllegalArgumentException (400) when not exactly one of features and text is given,
     *     or the input does not fit the model
     */
    @PostMapping("/predict")
    public PredictResponse predict(@RequestBody PredictRequest request) {
        if ((request.features() == null) == (request.text() == null)) {
            throw new IllegalArgumentException("give exactly one of \"features\" (tabular and image models) "
                    + "or \"text\" (text models)");
        }
        return model.predict(m -> respond(m, request.text() != null ? m.predict(request.text())
                : m.predict(request.features())));
    }

    private static PredictResponse respond(DistilledModel m, Prediction p) {
        List<String> labels = m.labels();
        float[] probabilities = p.probabilities();
        Map<String, Float> byLabel = new LinkedHashMap<>();
        for (int i = 0; i < probabilities.length; i++) {
            byLabel.put(i < labels.size() ? labels.get(i) : Integer.toString(i), probabilities[i]);
        }
        return new PredictResponse(p.label(), p.labelIndex(), byLabel, m.manifest().jobId(), m.precision().name());
    }
}
