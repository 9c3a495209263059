package dev.distillbridge.examples.spring;

import dev.distillbridge.spring.DistillBridgeEndpoint;
import org.springframework.boot.actuate.autoconfigure.security.servlet.EndpointRequest;
import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.web.SecurityFilterChain;

/**
 * Who may call what. The actuator (on its own port when {@code management.server.port} is set):
 * health status for everyone (probes), health details and every other endpoint, the
 * {@code distillbridge} hot-swap above all, only for an authenticated {@value #OPERATOR} over
 * HTTP Basic. The application's {@code POST /predict} stays open.
 *
 * <p>The operator comes from {@code spring.security.user.*} ({@code application.yml}); give the
 * password with {@code SPRING_SECURITY_USER_PASSWORD}, or Spring Boot generates one and logs it.
 * A real deployment would plug in its own identity provider here; the rules stay the same.
 */
@Configuration(proxyBeanMethods = false)
public class SecurityConfiguration {
    /** The role that may see health details and drive the hot-swap endpoint. */
    public static final String OPERATOR = "OPERATOR";

    /** The actuator's endpoints. */
    @Bean
    @Order(1)
    SecurityFilterChain actuatorSecurity(HttpSecurity http) throws Exception {
        return stateless(http.securityMatcher(EndpointRequest.toAnyEndpoint()))
                .authorizeHttpRequests(requests -> requests
                        // details are shown only when authorized (management.endpoint.health.show-details)
                        .requestMatchers(EndpointRequest.to(HealthEndpoint.class)).permitAll()
                        .requestMatchers(EndpointRequest.to(DistillBridgeEndpoint.class)).hasRole(OPERATOR)
                        .anyRequest().hasRole(OPERATOR))
                .httpBasic(Customizer.withDefaults())
                .build();
    }

    /** Everything else: the prediction API, open as before. */
    @Bean
    @Order(2)
    SecurityFilterChain applicationSecurity(HttpSecurity http) throws Exception {
        return stateless(http).authorizeHttpRequests(requests -> requests.anyRequest().permitAll()).build();
    }

    /**
     * No session and no cookie: every request carries its own credentials, so there is nothing
     * for a forged cross-site request to ride on and CSRF tokens would only break API clients.
     */
    private static HttpSecurity stateless(HttpSecurity http) throws Exception {
        return http.sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .csrf(AbstractHttpConfigurer::disable);
    }
}
