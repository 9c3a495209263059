package dev.distillbridge.spec;

import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * Self-distillation (teacher {@code "self"}, see {@link dev.distillbridge.client.Distiller#setSelfDistillation}): the
 * student's deepest exit teaches an auxiliary exit after every shallower layer. With
 * {@link #setShipExit(int) shipExit} k > 0 the artifact is the first k layers and exit k: a
 * smaller model without any teacher. Unset fields take the server's defaults.
 */
public final class SelfDistillation {
    private Integer shipExit;
    private Double featureWeight;
    private String tokenizer;

    /** Ship the first k layers and exit k; 0 = the full model. */
    public SelfDistillation setShipExit(int shipExit) {
        this.shipExit = shipExit;
        return this;
    }

    /** Weight of the hint loss pulling shallow features towards the deepest ones; >= 0. */
    public SelfDistillation setFeatureWeight(double featureWeight) {
        this.featureWeight = featureWeight;
        return this;
    }

    /** Text only: zoo name or server-side HF directory whose tokenizer the student uses. */
    public SelfDistillation setTokenizer(String tokenizer) {
        this.tokenizer = tokenizer;
        return this;
    }

    public OptionalInt shipExit() {
        return shipExit == null ? OptionalInt.empty() : OptionalInt.of(shipExit);
    }

    public OptionalDouble featureWeight() {
        return featureWeight == null ? OptionalDouble.empty() : OptionalDouble.of(featureWeight);
    }

    /** The tokenizer source set with {@link #setTokenizer(String)}, when one was. */
    public Optional<String> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

}
