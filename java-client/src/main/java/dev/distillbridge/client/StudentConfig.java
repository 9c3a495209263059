package dev.distillbridge.client;

/**
 * The shape of the student network the server trains: {@link MlpConfig}, {@link CnnConfig}
 * or {@link TransformerConfig}. Configs are fluent and mutable; {@link Distiller} copies and
 * validates them when the job is submitted.
 */
public sealed interface StudentConfig permits MlpConfig, CnnConfig, TransformerConfig {
}
