package dev.distillbridge.spring;

import static org.assertj.core.api.Assertions.assertThat;

import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.distillbridge.client.DistillBridge;
import dev.distillbridge.client.DistillException;
import dev.distillbridge.proto.v1.DistillerServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.Precision;
import dev.distillbridge.inference.Prediction;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.health.HealthContributorAutoConfiguration;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The starter's conditions, with the tiny committed artifact of the inference module's tests
 * (a 4 -> 8 -> 3 MLP, job id {@code fixture-tiny}): properties in, beans present or absent.
 */
class DistillBridgeAutoConfigurationTest {
    static final Path TINY = Path.of(System.getProperty("distillbridge.repoRoot", "../.."))
            .resolve("java-client/inference/src/test/resources/fixtures/tiny-artifact").toAbsolutePath().normalize();

    /** As SpringApplication sets up the environment: lenient enum values ({@code unrestricted}). */
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withInitializer(context -> context.getEnvironment().setConversionService(new ApplicationConversionService()))
            .withConfiguration(AutoConfigurations.of(DistillBridgeModelAutoConfiguration.class,
                    DistillBridgeClientAutoConfiguration.class, DistillBridgeHealthAutoConfiguration.class,
                    DistillBridgeAdminAutoConfiguration.class, HealthContributorAutoConfiguration.class,
                    EndpointAutoConfiguration.class));

    @TempDir
    Path tmp;

    @Test
    void withoutPropertiesThereIsNoModelNoClientNoHealthNoEndpoint() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).doesNotHaveBean(LiveModel.class);
            assertThat(context).doesNotHaveBean(DistillBridge.class);
            assertThat(context).doesNotHaveBean(DistilledModelHealthIndicator.class);
            assertThat(context).doesNotHaveBean(ModelUpdater.class);
        });
    }

    @Test
    void aModelPathGivesAVerifiedLiveModelAndAHealthIndicatorThatIsUp() {
        runner.withPropertyValues("distillbridge.model.path=" + TINY, "distillbridge.model.precision=fp32")
                .run(context -> {
                    LiveModel model = context.getBean(LiveModel.class);
                    assertThat(model.apply(DistilledModel::precision)).isEqualTo(Precision.FP32);
                    Prediction p = model.predict(m -> m.predict(new float[] {5.1f, 3.5f, 1.4f, 0.2f}));
                    assertThat(p.label()).isIn("setosa", "versicolor", "virginica");

                    Health health = context.getBean("distilledModelHealthIndicator", DistilledModelHealthIndicator.class)
                            .health();
                    assertThat(health.getStatus()).isEqualTo(Status.UP);
                    assertThat(health.getDetails()).containsEntry("jobId", "fixture-tiny")
                            .containsEntry("precision", "FP32");
                    assertThat(context).doesNotHaveBean(DistillBridge.class);
                });
    }

    @Test
    void theHealthIndicatorGoesDownWhenTheArtifactIsDamagedAfterStartUp() throws IOException {
        Path copy = copyTiny();
        runner.withPropertyValues("distillbridge.model.path=" + copy, "distillbridge.model.self-check-cache-ttl=0s")
                .run(context -> {
                    DistilledModelHealthIndicator indicator = context.getBean(DistilledModelHealthIndicator.class);
                    assertThat(indicator.health().getStatus()).isEqualTo(Status.UP);
                    byte[] bytes = Files.readAllBytes(copy.resolve("model.int8.onnx"));
                    bytes[bytes.length / 2] ^= 0x01;
                    Files.write(copy.resolve("model.int8.onnx"), bytes);

                    Health health = indicator.health();
                    assertThat(health.getStatus()).isEqualTo(Status.DOWN);
                    assertThat((String) health.getDetails().get("problem")).contains("sha256 mismatch for model.int8.onnx");
                });
    }

    @Test
    void aDamagedArtifactStopsTheApplicationFromStarting() throws IOException {
        Path copy = copyTiny();
        Files.write(copy.resolve("model.int8.onnx"), new byte[] {1, 2, 3});
        runner.withPropertyValues("distillbridge.model.path=" + copy).run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().hasMessageContaining("size mismatch for model.int8.onnx");
        });
    }

    @Test
    void theHealthIndicatorCanBeTurnedOff() {
        runner.withPropertyValues("distillbridge.model.path=" + TINY, "management.health.distilledmodel.enabled=false")
                .run(context -> {
                    assertThat(context).hasSingleBean(LiveModel.class);
                    assertThat(context).doesNotHaveBean(DistilledModelHealthIndicator.class);
                });
    }

    @Test
    void anApplicationsOwnLiveModelWins() {
        runner.withUserConfiguration(OwnModel.class).withPropertyValues("distillbridge.model.path=/no/such/dir")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(LiveModel.class);
                    assertThat(context.getBean(LiveModel.class)).isSameAs(context.getBean(OwnModel.class).model);
                    assertThat(context).hasSingleBean(DistilledModelHealthIndicator.class);
                });
    }

    @Test
    void aServerTargetGivesAClientBeanUnlessTheClientIsNotOnTheClasspath() {
        runner.withPropertyValues("distillbridge.server.target=localhost:1").run(context -> {
            assertThat(context).hasSingleBean(DistillBridge.class);
            assertThat(context).doesNotHaveBean(ModelUpdater.class); // no model to update
        });
        runner.withPropertyValues("distillbridge.server.target=localhost:1")
                .withClassLoader(new FilteredClassLoader(DistillBridge.class))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).doesNotHaveBean("distillBridge");
                });
    }

    @Test
    void anApplicationsOwnClientWins() {
        runner.withUserConfiguration(OwnClient.class).withPropertyValues("distillbridge.server.target=localhost:1")
                .run(context -> assertThat(context.getBean(DistillBridge.class))
                        .isSameAs(context.getBean(OwnClient.class).bridge));
    }

    @Test
    void theAdminEndpointIsOffByDefaultAndOnWhenItsAccessIsGranted() {
        ApplicationContextRunner both = runner.withPropertyValues("distillbridge.model.path=" + TINY,
                "distillbridge.server.target=localhost:1", "management.endpoints.web.exposure.include=*");
        both.run(context -> {
            assertThat(context).hasSingleBean(ModelUpdater.class);
            assertThat(context).doesNotHaveBean(DistillBridgeEndpoint.class);
        });
        both.withPropertyValues("management.endpoint.distillbridge.access=unrestricted",
                "management.server.port=0").run(context -> {
            DistillBridgeEndpoint endpoint = context.getBean(DistillBridgeEndpoint.class);
            assertThat(endpoint.model()).containsEntry("modelId", "fixture-tiny").containsEntry("precision", "INT8");
            assertThat(endpoint.update("no-such-job").getStatus()).isEqualTo(404);
            assertThat(endpoint.distill("digits-mlp", "digits", "16,x", null, null, null, null, null).getStatus())
                    .isEqualTo(400);
            // Nothing listens on localhost:1: the server's refusal comes back as its HTTP status.
            var refused = endpoint.distill("digits-mlp", "digits", "16", null, 1, null, null, null);
            assertThat(refused.getStatus()).isEqualTo(503);
            assertThat(refused.getBody()).asString().contains("grpcStatus=UNAVAILABLE");
        });
    }

    @Test
    void theAdminEndpointOnTheApplicationPortStopsStartUpUnlessExplicitlyAllowed() {
        ApplicationContextRunner granted = runner.withPropertyValues("distillbridge.model.path=" + TINY,
                "distillbridge.server.target=localhost:1", "management.endpoints.web.exposure.include=*",
                "management.endpoint.distillbridge.access=unrestricted");
        granted.run(context -> assertThat(context).getFailure().rootCause()
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("shares the application's port")
                .hasMessageContaining("management.server.port")
                .hasMessageContaining("distillbridge.admin.allow-application-port=true"));
        granted.withPropertyValues("management.server.port=8080", "server.port=8080")
                .run(context -> assertThat(context).hasFailed());
        granted.withPropertyValues("management.server.port=9091", "server.port=8080")
                .run(context -> assertThat(context).hasSingleBean(DistillBridgeEndpoint.class));
        granted.withPropertyValues("distillbridge.admin.allow-application-port=true")
                .run(context -> assertThat(context).hasSingleBean(DistillBridgeEndpoint.class));
    }

    @Test
    void theClientIsTlsByDefaultAndATokenOverPlaintextStopsStartUpUnlessExplicitlyAllowed() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        Metadata.Key<String> authorization = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
        Server server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
                .addService(ServerInterceptors.intercept(new DistillerServiceGrpc.DistillerServiceImplBase() { },
                        new ServerInterceptor() {
                            @Override
                            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                    ServerCallHandler<Q, R> next) {
                                seen.add(String.valueOf(headers.get(authorization)));
                                return next.startCall(call, headers);
                            }
                        }))
                .build().start();
        try {
            runner.withPropertyValues("distillbridge.server.target=127.0.0.1:" + server.getPort()).run(context -> {
                DistillException e = assertThrows(DistillException.class,
                        context.getBean(DistillBridge.class)::listTeachers);
                assertThat(e.getStatusCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
                assertThat(e.getMessage()).contains("distillbridge.server.plaintext=true");
            });
            assertThat(seen).isEmpty();
            ApplicationContextRunner plaintext = runner.withPropertyValues(
                    "distillbridge.server.target=127.0.0.1:" + server.getPort(), "distillbridge.server.plaintext=true",
                    "distillbridge.server.token=starter-token");
            plaintext.run(context -> assertThat(context).getFailure().rootCause()
                    .hasMessageContaining("distillbridge.server.allow-insecure-token=true"));
            plaintext.withPropertyValues("distillbridge.server.allow-insecure-token=true").run(context -> {
                DistillException e = assertThrows(DistillException.class,
                        context.getBean(DistillBridge.class)::listTeachers);
                assertThat(e.getStatusCode()).isEqualTo(io.grpc.Status.Code.UNIMPLEMENTED); // it got there
            });
            assertThat(seen).containsExactly("Bearer starter-token");
        } finally {
            server.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void aClientCertificateNeedsItsKey() {
        runner.withPropertyValues("distillbridge.server.target=localhost:1",
                "distillbridge.server.client-certificate=/x.pem").run(context -> assertThat(context)
                .getFailure().rootCause().hasMessageContaining("client-certificate and distillbridge.server.client-key"));
    }

    @Test
    void predictionsAreTimedAndTaggedWithTheModelId() {
        runner.withUserConfiguration(Metrics.class).withPropertyValues("distillbridge.model.path=" + TINY)
                .run(context -> {
                    LiveModel model = context.getBean(LiveModel.class);
                    for (int i = 0; i < 3; i++) {
                        model.predict(m -> m.predict(new float[] {6.7f, 3.0f, 5.2f, 2.3f}));
                    }
                    Timer timer = context.getBean(MeterRegistry.class).find(LiveModel.OBSERVATION)
                            .tag("model.id", "fixture-tiny").tag("model.precision", "INT8").timer();
                    assertThat(timer).isNotNull();
                    assertThat(timer.count()).isEqualTo(3);
                    assertThat(timer.totalTime(java.util.concurrent.TimeUnit.NANOSECONDS)).isPositive();
                });
    }

    private Path copyTiny() throws IOException {
        Path copy = Files.createDirectories(tmp.resolve("artifact"));
        try (Stream<Path> files = Files.list(TINY)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName().toString()));
            }
        }
        return copy;
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnModel {
        final LiveModel model = new LiveModel(DistilledModel.load(TINY));

        @Bean
        LiveModel myModel() {
            return model;
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnClient {
        final DistillBridge bridge = DistillBridge.connect("localhost:2");

        @Bean
        DistillBridge myBridge() {
            return bridge;
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Metrics {
        @Bean
        MeterRegistry meterRegistry() {
            return new SimpleMeterRegistry();
        }

        @Bean
        ObservationRegistry observationRegistry(MeterRegistry meters) {
            ObservationRegistry registry = ObservationRegistry.create();
            registry.observationConfig().observationHandler(new DefaultMeterObservationHandler(meters));
            return registry;
        }
    }
}
