/**
 * Spring Boot auto-configuration for Distill Bridge: a verified, hot-swappable
 * {@link dev.distillbridge.spring.LiveModel} from {@code distillbridge.model.path}, a
 * {@link dev.distillbridge.client.DistillBridge} client from {@code distillbridge.server.target},
 * the {@code distilledModel} health component backed by {@code selfCheck()}, Micrometer
 * observations of predictions ({@value dev.distillbridge.spring.LiveModel#OBSERVATION}), and the
 * actuator endpoint {@code distillbridge} (off by default) that distills and swaps in a new
 * model. Every bean backs off when the application defines its own.
 */
package dev.distillbridge.spring;
