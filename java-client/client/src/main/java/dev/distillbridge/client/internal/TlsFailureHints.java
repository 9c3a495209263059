package dev.distillbridge.client.internal;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall.SimpleForwardingClientCall;
import io.grpc.ForwardingClientCallListener.SimpleForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.Locale;
import javax.net.ssl.SSLException;

/**
 * Names the fix when a TLS channel cannot reach the server: the transport's own status
 * ({@code UNAVAILABLE: io exception}, say) says nothing about the likely cause, which is a
 * server started without {@code --tls-cert} or a certificate the JVM does not trust.
 */
public final class TlsFailureHints implements ClientInterceptor {
    static final String PLAINTEXT_HINT = "TLS with the server failed; if it runs without --tls-cert (plaintext),"
            + " connect with DistillBridge.builder(target).usePlaintext() (Spring Boot starter:"
            + " distillbridge.server.plaintext=true)";
    static final String TRUST_HINT = "the server's TLS certificate is not trusted; pass its CA (or the self-signed"
            + " certificate) with DistillBridge.builder(target).trustCertificate(pemFile) (Spring Boot starter:"
            + " distillbridge.server.trust-certificate)";

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(MethodDescriptor<ReqT, RespT> method,
            CallOptions callOptions, Channel next) {
        return new SimpleForwardingClientCall<>(next.newCall(method, callOptions)) {
            @Override
            public void start(Listener<RespT> listener, Metadata headers) {
                super.start(new SimpleForwardingClientCallListener<>(listener) {
                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        super.onClose(withHint(status), trailers);
                    }
                }, headers);
            }
        };
    }

    /** {@code status} with a hint appended when it is a failed TLS connection, else unchanged. */
    public static Status withHint(Status status) {
        if (status.getCode() != Status.Code.UNAVAILABLE) {
            return status;
        }
        boolean tlsFailed = false;
        for (Throwable t = status.getCause(); t != null; t = t.getCause() == t ? null : t.getCause()) {
            String text = (t.getClass().getName() + ": " + t.getMessage()).toLowerCase(Locale.ROOT);
            if (text.contains("certification path") || text.contains("pkix") || text.contains("certificate")) {
                return status.augmentDescription(TRUST_HINT);
            }
            // NotSslRecordException: the server answered with something that is not TLS
            tlsFailed |= t instanceof SSLException || t.getClass().getSimpleName().contains("Ssl");
        }
        return tlsFailed ? status.augmentDescription(PLAINTEXT_HINT) : status;
    }
}
