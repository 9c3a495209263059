package dev.distillbridge.examples.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A Spring Boot service that serves a model distilled by Distill Bridge. The starter
 * ({@code distill-bridge-spring-boot-starter}) does the wiring from {@code application.yml}: the
 * verified, hot-swappable model bean, the {@code distilledModel} health component, prediction
 * metrics, and the actuator endpoint {@code distillbridge} that distills a new model and swaps it
 * in (off unless turned on). This application adds only {@code POST /predict}.
 */
@SpringBootApplication
public class DistillBridgeServiceApplication {
    /** Starts the service. */
    public static void main(String[] args) {
        SpringApplication.run(DistillBridgeServiceApplication.class, args);
    }
}
