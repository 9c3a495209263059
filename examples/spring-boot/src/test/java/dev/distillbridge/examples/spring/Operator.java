package dev.distillbridge.examples.spring;

import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;

/** The operator of {@code application.yml} (role OPERATOR), with a password fixed for the tests. */
final class Operator {
    static final String NAME = "operator";
    static final String PASSWORD = "test-operator-password";

    private Operator() {
    }

    static void register(DynamicPropertyRegistry registry) {
        registry.add("spring.security.user.password", () -> PASSWORD);
    }

    /** {@code http} sending the operator's credentials. */
    static TestRestTemplate as(TestRestTemplate http) {
        return http.withBasicAuth(NAME, PASSWORD);
    }
}
