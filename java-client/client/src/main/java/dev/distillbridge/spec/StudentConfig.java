package dev.distillbridge.spec;

/**
 * The shape of the student network the server trains: {@link MlpConfig}, {@link CnnConfig}
 * or {@link TransformerConfig}. Configs are fluent and mutable; {@link dev.distillbridge.client.Distiller} copies and
 * validates them when the job is submitted.
 */
public sealed interface StudentConfig permits MlpConfig, CnnConfig, TransformerConfig {
}
