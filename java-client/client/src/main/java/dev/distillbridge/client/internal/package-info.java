/**
 * The client's plumbing, not API: the gRPC calls with their timeouts and retries
 * ({@link dev.distillbridge.client.internal.Rpc}), running and following a job
 * ({@link dev.distillbridge.client.internal.JobRunner}, {@link dev.distillbridge.client.internal.GrpcJobRunner}),
 * uploads and resumable, verified downloads, and the one mapping of a job description to its
 * wire message ({@link dev.distillbridge.client.internal.SpecProtos}). Public only so the
 * client's packages can share it; it may change in any release.
 */
package dev.distillbridge.client.internal;
