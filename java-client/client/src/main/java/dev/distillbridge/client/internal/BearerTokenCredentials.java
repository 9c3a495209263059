package dev.distillbridge.client.internal;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import io.grpc.SecurityLevel;
import io.grpc.Status;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * {@code authorization: Bearer <token>} as gRPC {@link CallCredentials}: attached per call, so
 * the transport's security level is known when the header would be sent. Over a connection that
 * is not {@link SecurityLevel#PRIVACY_AND_INTEGRITY} (plaintext) the call fails
 * {@code UNAUTHENTICATED} before anything is sent, unless the caller allowed the token in the
 * clear: a token sniffed off the wire is as good as the server's.
 */
public final class BearerTokenCredentials extends CallCredentials {
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final Metadata headers = new Metadata();
    private final boolean allowInsecure;

    /**
     * @param token the bearer token (not blank)
     * @param allowInsecure send it over plaintext connections too
     */
    public BearerTokenCredentials(String token, boolean allowInsecure) {
        Objects.requireNonNull(token, "token");
        if (token.isBlank()) {
            throw new IllegalArgumentException("token must not be blank");
        }
        headers.put(AUTHORIZATION, "Bearer " + token);
        this.allowInsecure = allowInsecure;
    }

    @Override
    public void applyRequestMetadata(RequestInfo info, Executor appExecutor, MetadataApplier applier) {
        SecurityLevel level = info.getSecurityLevel();
        if (!allowInsecure && level != SecurityLevel.PRIVACY_AND_INTEGRITY) {
            applier.fail(Status.UNAUTHENTICATED.withDescription("refusing to send the bearer token to "
                    + info.getAuthority() + " over a connection without TLS (security level " + level
                    + "): connect with TLS (drop usePlaintext(); trustCertificate(...) for a private CA), or call"
                    + " allowInsecureBearerToken() to send it in the clear (e.g. on loopback)"));
            return;
        }
        Metadata copy = new Metadata();
        copy.merge(headers);
        applier.apply(copy);
    }
}
