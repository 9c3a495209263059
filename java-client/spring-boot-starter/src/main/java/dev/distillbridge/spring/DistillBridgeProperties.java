package dev.distillbridge.spring;

import dev.distillbridge.inference.Precision;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code distillbridge.*} settings (an IDE completes them from the generated metadata):
 *
 * <pre>
 * distillbridge:
 *   model.path: /models/german-credit        # the artifact served, verified at start-up
 *   server.target: distill-bridge:50051      # a DistillBridge client bean (needs distill-bridge-client), TLS
 *   server.trust-certificate: /etc/distill/ca.pem   # a private CA; unset = the JVM's CAs
 *   server.plaintext: true                   # only for a server without --tls-cert (loopback)
 *   admin.work-dir: /var/lib/distilled       # where the admin endpoint downloads new artifacts
 * </pre>
 */
@ConfigurationProperties("distillbridge")
public class DistillBridgeProperties {
    private final Model model = new Model();
    private final Server server = new Server();
    private final Admin admin = new Admin();

    /** The artifact served. */
    public Model getModel() {
        return model;
    }

    /** The Distill Bridge server that distills new models. */
    public Server getServer() {
        return server;
    }

    /** The hot-swap endpoint ({@code /actuator/distillbridge}). */
    public Admin getAdmin() {
        return admin;
    }

    /** {@code distillbridge.model.*}. */
    public static class Model {
        /**
         * The artifact directory (manifest.json and the model files) to serve. Verified at
         * start-up (SHA-256 of every file, golden vectors replayed); unset = no model bean.
         */
        private Path path;

        /** The model of the artifact to open; unset = INT8 when the artifact has one, else FP32. */
        private Precision precision;

        /**
         * How long the health indicator reuses a self-check (each one re-hashes the model
         * files); 0 = check on every health request.
         */
        private Duration selfCheckCacheTtl = Duration.ofSeconds(30);

        public Path getPath() {
            return path;
        }

        public void setPath(Path path) {
            this.path = path;
        }

        public Precision getPrecision() {
            return precision;
        }

        public void setPrecision(Precision precision) {
            this.precision = precision;
        }

        public Duration getSelfCheckCacheTtl() {
            return selfCheckCacheTtl;
        }

        public void setSelfCheckCacheTtl(Duration selfCheckCacheTtl) {
            this.selfCheckCacheTtl = selfCheckCacheTtl;
        }
    }

    /** {@code distillbridge.server.*}. */
    public static class Server {
        /** host:port of the Distill Bridge server; set = a DistillBridge client bean. */
        private String target;

        /**
         * Bearer token, when the server was started with --auth-token-file. Sent only over TLS
         * unless allow-insecure-token is set.
         */
        private String token;

        /**
         * Talk plaintext HTTP/2 instead of TLS, to a server started without --tls-cert (e.g. on
         * localhost). TLS is the default.
         */
        private boolean plaintext;

        /**
         * Send the token over a plaintext connection too, where anyone on the path can read it.
         * For loopback only; without it a token with plaintext=true stops the application
         * from starting.
         */
        private boolean allowInsecureToken;

        /** PEM file of the CA (or self-signed certificate) to trust; unset = the JVM's default CAs. */
        private Path trustCertificate;

        /** PEM certificate chain to present when the server asks for a client certificate (with client-key). */
        private Path clientCertificate;

        /** PKCS#8 PEM private key of client-certificate. */
        private Path clientKey;

        /** Timeout of each unary call to the server. */
        private Duration callTimeout = Duration.ofSeconds(60);

        public String getTarget() {
            return target;
        }

        public void setTarget(String target) {
            this.target = target;
        }

        public String getToken() {
            return token;
        }

        public void setToken(String token) {
            this.token = token;
        }

        public Duration getCallTimeout() {
            return callTimeout;
        }

        public void setCallTimeout(Duration callTimeout) {
            this.callTimeout = callTimeout;
        }

        public boolean isPlaintext() {
            return plaintext;
        }

        public void setPlaintext(boolean plaintext) {
            this.plaintext = plaintext;
        }

        public boolean isAllowInsecureToken() {
            return allowInsecureToken;
        }

        public void setAllowInsecureToken(boolean allowInsecureToken) {
            this.allowInsecureToken = allowInsecureToken;
        }

        public Path getTrustCertificate() {
            return trustCertificate;
        }

        public void setTrustCertificate(Path trustCertificate) {
            this.trustCertificate = trustCertificate;
        }

        public Path getClientCertificate() {
            return clientCertificate;
        }

        public void setClientCertificate(Path clientCertificate) {
            this.clientCertificate = clientCertificate;
        }

        public Path getClientKey() {
            return clientKey;
        }

        public void setClientKey(Path clientKey) {
            this.clientKey = clientKey;
        }
    }

    /**
     * {@code distillbridge.admin.*}: the actuator endpoint {@code distillbridge}, off unless
     * {@code management.endpoint.distillbridge.access=unrestricted} and exposed over the web,
     * and then only on a management port of its own ({@code management.server.port}).
     */
    public static class Admin {
        /** Where each new artifact is downloaded ({@code <work-dir>/<jobId>}). */
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"), "distill-bridge-models");

        /** Bounds one distillation, submit to result. */
        private Duration jobTimeout = Duration.ofMinutes(30);

        /**
         * Serve the endpoint on the application's own port. Off: turning the endpoint on
         * without a separate management.server.port stops the application from starting, since
         * the endpoint starts distillations and swaps the served model. Set it only when that
         * port is protected (e.g. by Spring Security).
         */
        private boolean allowApplicationPort;

        public Path getWorkDir() {
            return workDir;
        }

        public void setWorkDir(Path workDir) {
            this.workDir = workDir;
        }

        public Duration getJobTimeout() {
            return jobTimeout;
        }

        public void setJobTimeout(Duration jobTimeout) {
            this.jobTimeout = jobTimeout;
        }

        public boolean isAllowApplicationPort() {
            return allowApplicationPort;
        }

        public void setAllowApplicationPort(boolean allowApplicationPort) {
            this.allowApplicationPort = allowApplicationPort;
        }
    }
}
