package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secure by default, over real sockets on 127.0.0.1 (grpc-java servers, so no Python is needed):
 * the default builder speaks TLS, so a plaintext server is out of reach with an error that names
 * {@code usePlaintext()}; a bearer token is refused over plaintext before it leaves the JVM
 * unless {@code allowInsecureBearerToken()} says otherwise; over TLS with a self-signed
 * certificate (made here with the openssl CLI) it is sent.
 */
class TransportSecurityTest {
    private static final String TOKEN = "transport-test-token";

    @TempDir
    static Path tmp;

    private static Path cert;
    private static Path key;

    /** The authorization header of every call that reached the server ("-" when it had none). */
    private final List<String> seenAuthorization = new CopyOnWriteArrayList<>();
    private Server server;

    @BeforeAll
    static void selfSignedCertificate() throws IOException, InterruptedException {
        cert = tmp.resolve("server.pem");
        key = tmp.resolve("server.key");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout", key.toString(), "-out", cert.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "openssl failed:\n" + out);
    }

    @AfterEach
    void stopServer() throws InterruptedException {
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private String start(ServerCredentials credentials) throws IOException {
        Metadata.Key<String> authorization = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
        ServerInterceptor recorder = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                String value = headers.get(authorization);
                seenAuthorization.add(value == null ? "-" : value);
                return next.startCall(call, headers);
            }
        };
        server = Grpc.newServerBuilderForPort(0, credentials)
                .addService(ServerInterceptors.intercept(new FakeDistillerService(), recorder)).build().start();
        return "127.0.0.1:" + server.getPort();
    }

    private static DistillBridge.Builder quick(String target) {
        return DistillBridge.builder(target).callTimeout(Duration.ofSeconds(10))
                .retry(1, Duration.ofMillis(1), Duration.ofMillis(1));
    }

    @Test
    void theDefaultIsTlsSoAPlaintextServerIsUnreachableAndTheErrorNamesUsePlaintext() throws IOException {
        String target = start(InsecureServerCredentials.create());
        try (DistillBridge bridge = quick(target).build()) {
            DistillException e = assertThrows(DistillException.class, bridge::listTeachers);
            assertEquals(Status.Code.UNAVAILABLE, e.getStatusCode(), e.getMessage());
            assertTrue(e.getMessage().contains("usePlaintext()"), e.getMessage());
        }
        try (DistillBridge bridge = DistillBridge.connect(target, Duration.ofSeconds(10))) {
            DistillException e = assertThrows(DistillException.class, bridge::listTeachers);
            assertTrue(e.getMessage().contains("usePlaintext()"), e.getMessage());
        }
        assertEquals(List.of(), seenAuthorization, "a call reached the plaintext server");
        try (DistillBridge bridge = quick(target).usePlaintext().build()) {
            assertEquals("german-credit-mlp", bridge.listTeachers().get(0).name());
        }
        assertEquals(List.of("-"), seenAuthorization);
    }

    @Test
    void aBearerTokenIsRefusedOverPlaintextBeforeItIsSent() throws IOException {
        String target = start(InsecureServerCredentials.create());
        try (DistillBridge bridge = quick(target).usePlaintext().bearerToken(TOKEN).build()) {
            DistillException e = assertThrows(DistillException.class, bridge::listTeachers);
            assertEquals(Status.Code.UNAUTHENTICATED, e.getStatusCode(), e.getMessage());
            assertTrue(e.getMessage().contains("without TLS"), e.getMessage());
            assertTrue(e.getMessage().contains("allowInsecureBearerToken()"), e.getMessage());
            // streams carry the credentials too
            DistillException watch = assertThrows(DistillException.class, () -> bridge.watchJob("job-1", ev -> { }));
            assertEquals(Status.Code.UNAUTHENTICATED, watch.getStatusCode(), watch.getMessage());
        }
        assertEquals(List.of(), seenAuthorization, "a call carrying (or refusing) the token reached the server");
    }

    @Test
    void allowInsecureBearerTokenSendsItInTheClear() throws IOException {
        String target = start(InsecureServerCredentials.create());
        try (DistillBridge bridge = quick(target).usePlaintext().bearerToken(TOKEN).allowInsecureBearerToken()
                .build()) {
            assertEquals(1, bridge.listTeachers().size());
        }
        assertEquals(List.of("Bearer " + TOKEN), seenAuthorization);
    }

    @Test
    void overTlsWithATrustedSelfSignedCertificateTheTokenIsSent() throws IOException {
        String target = start(TlsServerCredentials.create(cert.toFile(), key.toFile()));
        try (DistillBridge bridge = quick(target).trustCertificate(cert).bearerToken(TOKEN).build()) {
            assertEquals("german-credit-mlp", bridge.listTeachers().get(0).name());
        }
        assertEquals(List.of("Bearer " + TOKEN), seenAuthorization);
    }

    @Test
    void anUntrustedCertificateIsRefusedNamingTrustCertificate() throws IOException {
        String target = start(TlsServerCredentials.create(cert.toFile(), key.toFile()));
        try (DistillBridge bridge = quick(target).bearerToken(TOKEN).build()) {
            DistillException e = assertThrows(DistillException.class, bridge::listTeachers);
            assertEquals(Status.Code.UNAVAILABLE, e.getStatusCode(), e.getMessage());
            assertTrue(e.getMessage().contains("trustCertificate("), e.getMessage());
        }
        assertEquals(List.of(), seenAuthorization);
    }

    @Test
    void usePlaintextWithACertificateIsRefusedAtBuild() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DistillBridge.builder("127.0.0.1:1").usePlaintext().trustCertificate(cert).build());
        assertTrue(e.getMessage().startsWith("usePlaintext: cannot be combined with trustCertificate"),
                e.getMessage());
        IllegalArgumentException notPem = assertThrows(IllegalArgumentException.class,
                () -> DistillBridge.builder("127.0.0.1:1").trustCertificate(key.resolveSibling("missing.pem")).build());
        assertTrue(notPem.getMessage().contains("trustCertificate: cannot read"), notPem.getMessage());
    }
}
