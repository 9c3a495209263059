package dev.distillbridge.examples.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * A Spring Boot service that serves a model distilled by Distill Bridge: {@code POST /predict},
 * a health indicator backed by {@code DistilledModel.selfCheck()}, and (when
 * {@code distillbridge.admin.enabled}) {@code POST /admin/distill}, which distills a new model
 * through a Distill Bridge server and hot-swaps it in once it passes.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class DistillBridgeServiceApplication {
    /** Starts the service. */
    public static void main(String[] args) {
        SpringApplication.run(DistillBridgeServiceApplication.class, args);
    }
}
