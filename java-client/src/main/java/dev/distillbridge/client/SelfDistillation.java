package dev.distillbridge.client;

import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * Self-distillation (teacher {@code "self"}, see {@link Distiller#setSelfDistillation}): the
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

    dev.distillbridge.proto.v1.SelfDistillation toProto(Problems problems) {
        if (shipExit != null && shipExit < 0) {
            problems.add("self_distillation.ship_exit", "must be >= 0, got " + shipExit);
        }
        problems.requireFiniteNonNegative("self_distillation.feature_weight", featureWeight);
        var builder = dev.distillbridge.proto.v1.SelfDistillation.newBuilder();
        shipExit().ifPresent(builder::setShipExit);
        featureWeight().ifPresent(builder::setFeatureWeight);
        if (tokenizer != null && !tokenizer.isBlank()) {
            builder.setTokenizer(tokenizer);
        }
        return builder.build();
    }
}
