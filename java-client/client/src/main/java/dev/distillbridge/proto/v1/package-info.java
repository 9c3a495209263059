/**
 * Generated from {@code proto/distillbridge/v1/distiller.proto} (the wire contract, shared with
 * the Python server); internal to the client, not API. Several messages share a simple name
 * with a public class ({@code MlpConfig}, {@code TrainingParams}, {@code Gates}, ...): the
 * public ones are in {@link dev.distillbridge.spec}, and only
 * {@link dev.distillbridge.client.internal.SpecProtos} maps between the two.
 * {@link dev.distillbridge.client.Distiller#validate} is the one public method that returns a
 * message of this package (the normalized {@code DistillSpec}).
 */
package dev.distillbridge.proto.v1;
