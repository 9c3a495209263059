/**
 * What a distillation is made of, as fluent values: the student's shape
 * ({@link dev.distillbridge.spec.MlpConfig}, {@link dev.distillbridge.spec.CnnConfig},
 * {@link dev.distillbridge.spec.TransformerConfig}), the training parameters and schedule
 * ({@link dev.distillbridge.spec.TrainingParams}, {@link dev.distillbridge.spec.Schedule}), the
 * data and the teacher ({@link dev.distillbridge.spec.Dataset}, {@link dev.distillbridge.spec.Teacher}),
 * the gates the artifact must pass ({@link dev.distillbridge.spec.Gates}), INT8 or not
 * ({@link dev.distillbridge.spec.QuantType}). The same names and fields as Python's
 * {@code bridge} package.
 *
 * <p>These classes only hold values; a {@link dev.distillbridge.client.Distiller} checks and
 * copies them when a job is submitted, naming every bad field. They know nothing of the wire:
 * the generated classes of the same simple names live in {@code dev.distillbridge.proto.v1}.
 */
package dev.distillbridge.spec;
