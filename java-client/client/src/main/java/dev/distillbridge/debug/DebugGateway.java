package dev.distillbridge.debug;

/**
 * The Python side of a debug connection, as Py4J proxies it: {@code bridge.gateway.DebugEntryPoint}
 * in the {@code distill-bridge debug-server} process. Internal to the client (public only because
 * Py4J builds a dynamic proxy of it); use {@link dev.distillbridge.client.DistillBridge#debug(int, String)}.
 */
public interface DebugGateway {
    /** "" when the serialized DistillSpec is acceptable, else "STATUS_CODE\tfield: message". */
    String validate(byte[] spec);

    /**
     * The serialized normalized DistillSpec (every default filled in): what the pipeline would
     * receive. Call it after {@link #validate} returned "".
     */
    byte[] normalize(byte[] spec);

    /** Starts the job in the Python process; returns its id. */
    String submit(byte[] spec);

    /** The serialized JobEvent number {@code sequence}, or null if none came within the wait. */
    byte[] nextEvent(String jobId, long sequence, long waitMillis);

    /** Where a succeeded job's artifact lies on this machine. */
    String artifactDirectory(String jobId);
}
