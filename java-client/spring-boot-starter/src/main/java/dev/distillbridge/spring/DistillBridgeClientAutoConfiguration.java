package dev.distillbridge.spring;

import dev.distillbridge.client.DistillBridge;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * A {@link DistillBridge} connected to {@code distillbridge.server.target}, when that is set and
 * {@code distill-bridge-client} is on the classpath: TLS unless {@code distillbridge.server.plaintext},
 * the token sent only over TLS unless {@code distillbridge.server.allow-insecure-token}. Closed
 * with the context.
 */
@AutoConfiguration
@ConditionalOnClass(DistillBridge.class)
@EnableConfigurationProperties(DistillBridgeProperties.class)
public class DistillBridgeClientAutoConfiguration {

    /**
     * The connection to the Distill Bridge server.
     *
     * @throws IllegalStateException naming the properties when a token is configured for a
     *     plaintext connection without {@code allow-insecure-token} (every call would be refused),
     *     or only one of client-certificate and client-key is set
     */
    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnProperty(prefix = "distillbridge.server", name = "target")
    public DistillBridge distillBridge(DistillBridgeProperties properties) {
        DistillBridgeProperties.Server server = properties.getServer();
        DistillBridge.Builder builder = DistillBridge.builder(server.getTarget()).callTimeout(server.getCallTimeout());
        boolean token = server.getToken() != null && !server.getToken().isBlank();
        if (server.isPlaintext()) {
            if (token && !server.isAllowInsecureToken()) {
                throw new IllegalStateException("distillbridge.server.token is set with distillbridge.server.plaintext="
                        + "true: the client never sends a token without TLS, so every call would fail. Start the server"
                        + " with --tls-cert/--tls-key and drop plaintext, or (loopback only) set"
                        + " distillbridge.server.allow-insecure-token=true");
            }
            builder.usePlaintext();
        }
        if (server.getTrustCertificate() != null) {
            builder.trustCertificate(server.getTrustCertificate());
        }
        if ((server.getClientCertificate() == null) != (server.getClientKey() == null)) {
            throw new IllegalStateException(
                    "distillbridge.server.client-certificate and distillbridge.server.client-key go together");
        }
        if (server.getClientCertificate() != null) {
            builder.clientCertificate(server.getClientCertificate(), server.getClientKey());
        }
        if (token) {
            builder.bearerToken(server.getToken());
            if (server.isAllowInsecureToken()) {
                builder.allowInsecureBearerToken();
            }
        }
        return builder.build();
    }
}
