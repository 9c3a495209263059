/**
 * Development only: a Py4J connection to a local {@code distill-bridge debug-server}
 * ({@link dev.distillbridge.debug.DebugConnection}, opened with
 * {@link dev.distillbridge.client.DistillBridge#debug(java.nio.file.Path)}), which offers the
 * same {@code newDistiller()} as a gRPC connection but runs jobs inside that Python process, so
 * its breakpoints hit. Needs {@code net.sf.py4j:py4j} on the classpath.
 */
package dev.distillbridge.debug;
