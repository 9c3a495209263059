package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.distillbridge.client.internal.ArtifactSource;
import dev.distillbridge.client.internal.JobRunner;
import dev.distillbridge.proto.v1.FinishedEvent;
import dev.distillbridge.proto.v1.JobEvent;
import dev.distillbridge.debug.DebugConnection;
import dev.distillbridge.proto.v1.DistillSpec;
import dev.distillbridge.proto.v1.UploadKind;
import io.grpc.Deadline;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * One job, every door, from Java: the specs {@code python -m tests.spec_fields DIR} writes
 * (together they set every field of {@code DistillSpec}) are described again through the
 * public fluent API ({@link FluentSpec}) and validated, without running anything, through
 * gRPC (a real {@code distill-bridge serve --data-root DIR}) and Py4J (a real
 * {@code distill-bridge debug-server}). Each door must answer the case's expected normalized
 * spec exactly; a case with a {@code local_refusal_field} refers to uploads, which the Py4J
 * door (local, no upload store) must refuse naming that field.
 *
 * <p>It cannot drift: the cases come from the proto descriptor on the Python side, every proto
 * field must be listed in {@link FluentSpec#MAPPED}, the fluent API must reproduce each case's
 * spec exactly, and the cases together must set every field.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SpecConformanceTest {
    private static final Duration STARTUP = Duration.ofSeconds(120);
    private static final Duration GENERATOR_TIMEOUT = Duration.ofMinutes(3);
    private static final String TEACHER_UPLOAD = "$TEACHER_UPLOAD_ID";
    private static final String DATASET_UPLOAD = "$DATASET_UPLOAD_ID";
    private static final JsonFormat.Printer JSON = JsonFormat.printer().alwaysPrintFieldsWithNoPresence();

    @TempDir
    static Path tmp;

    private Path python;
    private Path repoRoot;
    private Path casesDir;
    private List<Case> cases;
    private PythonServer grpcServer;
    private PythonServer debugServer;
    private DistillBridge bridge;
    private DebugConnection debug;

    /** One entry of DIR/cases.json; spec and expected as JSON text, placeholders unresolved. */
    record Case(String name, String specJson, String expectedJson, Map<String, Path> uploads,
            String localRefusalField) {
        DistillSpec spec(Map<String, String> ids) {
            return parse(specJson, ids, name + " spec");
        }

        DistillSpec expected(Map<String, String> ids) {
            return parse(expectedJson, ids, name + " expected");
        }

        /** Placeholder -> the local file to upload for it. */
        Map<String, Path> localFiles() {
            Map<String, Path> out = new LinkedHashMap<>();
            if (uploads.containsKey("teacher")) {
                out.put(TEACHER_UPLOAD, uploads.get("teacher"));
            }
            if (uploads.containsKey("dataset")) {
                out.put(DATASET_UPLOAD, uploads.get("dataset"));
            }
            return out;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @BeforeAll
    void generateCases() throws IOException, InterruptedException {
        python = Path.of(System.getProperty("distillbridge.python", "../.venv/bin/python")).toAbsolutePath();
        repoRoot = Path.of(System.getProperty("distillbridge.repoRoot", "..")).toAbsolutePath().normalize();
        casesDir = Files.createDirectories(tmp.resolve("cases"));
        generate(python, repoRoot, casesDir);
        cases = readCases(casesDir);
        assertFalse(cases.isEmpty(), "tests.spec_fields wrote no cases");
    }

    /** The gRPC door: a real server whose data root is the cases' directory (started on first use). */
    private synchronized DistillBridge grpc() throws IOException {
        if (bridge == null) {
            grpcServer = PythonServer.start(python, repoRoot, Files.createDirectories(tmp.resolve("data")),
                    Path.of("target", "spec-conformance-grpc.log"), STARTUP, "--data-root", casesDir.toString());
            bridge = DistillBridge.builder(grpcServer.target()).usePlaintext().build();
        }
        return bridge;
    }

    /** The Py4J door: a real debug server (started on first use). */
    private synchronized DebugConnection py4j() throws IOException {
        if (debug == null) {
            Path home = Files.createDirectories(tmp.resolve("home"));
            Path connectionFile = tmp.resolve("debug-server.json");
            debugServer = PythonServer.start(python, repoRoot, List.of("debug-server", "--port", "0", "--home",
                    home.toString(), "--connection-file", connectionFile.toString()),
                    connectionFile, Path.of("target", "spec-conformance-py4j.log"), STARTUP);
            debug = DistillBridge.debug(connectionFile);
        }
        return debug;
    }

    @AfterAll
    void stop() {
        for (AutoCloseable c : new AutoCloseable[] {debug, bridge, debugServer, grpcServer}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                // keep closing the rest
            }
        }
    }

    // ------------------------------------------------------------ the mapping cannot drift

    @Test
    void theFluentMappingCoversEveryProtoField() {
        List<String> fields = FluentSpec.allFields(DistillSpec.getDescriptor());
        Set<String> unmapped = new LinkedHashSet<>(fields);
        unmapped.removeAll(FluentSpec.MAPPED);
        assertTrue(unmapped.isEmpty(), "proto fields FluentSpec does not map (map them, adding to the "
                + "public fluent API what it lacks): " + unmapped);
        Set<String> stale = new LinkedHashSet<>(FluentSpec.MAPPED);
        stale.removeAll(fields);
        assertTrue(stale.isEmpty(), "FluentSpec.MAPPED names fields the proto no longer has: " + stale);
    }

    @Test
    void theCasesTogetherSetEveryProtoField() {
        Set<String> set = new LinkedHashSet<>();
        for (Case c : cases) {
            collectSet(c.spec(Map.of()), set);
        }
        Set<String> missing = new LinkedHashSet<>(FluentSpec.allFields(DistillSpec.getDescriptor()));
        missing.removeAll(set);
        assertTrue(missing.isEmpty(), "no case of tests.spec_fields sets " + missing);
    }

    @TestFactory
    Stream<DynamicTest> theFluentApiReproducesEachCaseExactly() {
        return cases.stream().map(c -> DynamicTest.dynamicTest("fluent: " + c.name(), () -> {
            DistillSpec spec = c.spec(Map.of()); // upload placeholders stay as ids: Teacher.uploaded(...)
            CapturingRunner capture = new CapturingRunner();
            Distiller distiller = new Distiller(capture, Runnable::run);
            FluentSpec.Arguments args = FluentSpec.describe(spec, distiller, Map.of());
            distiller.validate(args.dataset(), args.params());
            assertSameSpec(FluentSpec.canonical(spec), capture.spec, "the spec the fluent API built");
        }));
    }

    // ------------------------------------------------------------ the doors

    @TestFactory
    Stream<DynamicTest> grpcAnswersEachCasesNormalizedSpec() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Case c : cases) {
            tests.add(DynamicTest.dynamicTest("gRPC: " + c.name(), () -> {
                Map<String, String> ids = uploadNow(c);
                DistillSpec answer = validate(grpc().newDistiller(), c.spec(ids), Map.of());
                assertSameSpec(c.expected(ids), answer, "gRPC validate_only answer");
            }));
            if (!c.uploads().isEmpty()) {
                tests.add(DynamicTest.dynamicTest("gRPC, uploaded by validate: " + c.name(), () -> {
                    DistillSpec answer = validate(grpc().newDistiller(), c.spec(Map.of()), c.localFiles());
                    Map<String, String> ids = new LinkedHashMap<>();
                    if (c.uploads().containsKey("teacher")) {
                        ids.put(TEACHER_UPLOAD, answer.getTeacher().getUploadId());
                    }
                    if (c.uploads().containsKey("dataset")) {
                        ids.put(DATASET_UPLOAD, answer.getDataset().getUploadId());
                    }
                    ids.forEach((placeholder, id) -> assertFalse(id.isEmpty() || id.equals(placeholder),
                            placeholder + " was not replaced by an upload id: " + json(answer)));
                    assertSameSpec(c.expected(ids), answer, "gRPC validate_only answer after uploading");
                }));
            }
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> py4jAnswersEachCasesNormalizedSpecOrRefusesUploads() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Case c : cases) {
            tests.add(DynamicTest.dynamicTest("Py4J: " + c.name(), () -> {
                if (c.localRefusalField() == null) {
                    assertTrue(c.uploads().isEmpty(), "a case with uploads must name its local_refusal_field");
                    assertSameSpec(c.expected(Map.of()), validate(py4j().newDistiller(), c.spec(Map.of()), Map.of()),
                            "Py4J normalize answer");
                    return;
                }
                DistillException e = assertThrows(DistillException.class,
                        () -> validate(py4j().newDistiller(), c.spec(Map.of()), Map.of()),
                        "Py4J has no upload store: the upload ids must be refused");
                String description = String.valueOf(e.getStatus().getDescription());
                assertTrue(description.startsWith(c.localRefusalField()),
                        "expected a refusal naming " + c.localRefusalField() + ", got " + e.getMessage());
            }));
            if (!c.uploads().isEmpty()) {
                // A local door reads local files where they lie: Teacher.upload / Dataset.upload
                // reach the debug server as paths, and the spec is otherwise the same.
                tests.add(DynamicTest.dynamicTest("Py4J, local files by path: " + c.name(), () -> {
                    DistillSpec answer = validate(py4j().newDistiller(), c.spec(Map.of()), c.localFiles());
                    DistillSpec.Builder expected = c.expected(Map.of()).toBuilder();
                    if (c.uploads().containsKey("teacher")) {
                        expected.getTeacherBuilder().setUploadId("")
                                .setReference(c.uploads().get("teacher").toAbsolutePath().toString());
                    }
                    if (c.uploads().containsKey("dataset")) {
                        expected.getDatasetBuilder().setPath(c.uploads().get("dataset").toAbsolutePath().toString());
                    }
                    assertSameSpec(expected.build(), answer, "Py4J normalize answer for local files");
                }));
            }
        }
        return tests.stream();
    }

    // ------------------------------------------------------------ helpers

    /** Describes {@code spec} through the fluent API on {@code distiller} and validates it. */
    private static DistillSpec validate(Distiller distiller, DistillSpec spec, Map<String, Path> localFiles) {
        FluentSpec.Arguments args = FluentSpec.describe(spec, distiller, localFiles);
        return distiller.validate(args.dataset(), args.params());
    }

    /** Uploads the case's files now; placeholder -> upload id. */
    private Map<String, String> uploadNow(Case c) throws IOException {
        Map<String, String> ids = new LinkedHashMap<>();
        if (c.uploads().containsKey("teacher")) {
            ids.put(TEACHER_UPLOAD, grpc().upload(UploadKind.UPLOAD_KIND_MODEL, c.uploads().get("teacher")));
        }
        if (c.uploads().containsKey("dataset")) {
            ids.put(DATASET_UPLOAD, grpc().upload(UploadKind.UPLOAD_KIND_DATASET, c.uploads().get("dataset")));
        }
        return ids;
    }

    private static void assertSameSpec(DistillSpec expected, DistillSpec actual, String what) {
        if (expected.equals(actual)) {
            return;
        }
        String e = json(expected);
        String a = json(actual);
        fail(what + " differs from the expected spec.\nlines only in expected:\n" + onlyIn(e, a)
                + "lines only in actual:\n" + onlyIn(a, e) + "expected:\n" + e + "\nactual:\n" + a);
    }

    private static String onlyIn(String a, String b) {
        Set<String> other = new LinkedHashSet<>(b.lines().map(String::strip).toList());
        StringBuilder out = new StringBuilder();
        a.lines().map(String::strip).filter(l -> !other.contains(l)).forEach(l -> out.append("  ").append(l).append('\n'));
        return out.toString();
    }

    static String json(Message message) {
        try {
            return JSON.print(message);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    static DistillSpec parse(String json, Map<String, String> ids, String what) {
        String text = json;
        for (var id : ids.entrySet()) {
            text = text.replace(id.getKey(), id.getValue());
        }
        DistillSpec.Builder builder = DistillSpec.newBuilder();
        try {
            JsonFormat.parser().merge(text, builder);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("cannot read " + what + ": " + e.getMessage(), e);
        }
        return builder.build();
    }

    /** Every field set somewhere in {@code message} (and the messages inside it), by full name. */
    private static void collectSet(Message message, Set<String> out) {
        for (Map.Entry<FieldDescriptor, Object> entry : message.getAllFields().entrySet()) {
            out.add(entry.getKey().getFullName());
            if (entry.getKey().getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                if (entry.getKey().isRepeated()) {
                    for (Object item : (List<?>) entry.getValue()) {
                        collectSet((Message) item, out);
                    }
                } else {
                    collectSet((Message) entry.getValue(), out);
                }
            }
        }
    }

    /** Runs {@code python -m tests.spec_fields dir} in the repository root. */
    private static void generate(Path python, Path repoRoot, Path dir) throws IOException, InterruptedException {
        Path log = Path.of("target", "spec-fields.log").toAbsolutePath();
        Files.createDirectories(log.getParent());
        Process process = new ProcessBuilder(python.toString(), "-m", "tests.spec_fields", dir.toString())
                .directory(repoRoot.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        if (!process.waitFor(GENERATOR_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("python -m tests.spec_fields did not finish within " + GENERATOR_TIMEOUT + "; log: " + log);
        }
        if (process.exitValue() != 0) {
            fail("python -m tests.spec_fields " + dir + " (in " + repoRoot + ") exited " + process.exitValue() + ":\n"
                    + Files.readString(log, StandardCharsets.UTF_8));
        }
    }

    private static List<Case> readCases(Path dir) throws IOException {
        List<Case> out = new ArrayList<>();
        for (JsonElement element : JsonParser.parseString(Files.readString(dir.resolve("cases.json")))
                .getAsJsonArray()) {
            JsonObject o = element.getAsJsonObject();
            Map<String, Path> uploads = new LinkedHashMap<>();
            if (o.has("uploads") && !o.get("uploads").isJsonNull()) {
                o.getAsJsonObject("uploads").entrySet()
                        .forEach(u -> uploads.put(u.getKey(), dir.resolve(u.getValue().getAsString())));
            }
            String refusal = o.has("local_refusal_field") && !o.get("local_refusal_field").isJsonNull()
                    ? o.get("local_refusal_field").getAsString() : null;
            out.add(new Case(o.get("name").getAsString(), read(dir, o.get("spec").getAsString()),
                    read(dir, o.get("expected").getAsString()), uploads, refusal));
        }
        return out;
    }

    private static String read(Path dir, String file) {
        try {
            return Files.readString(dir.resolve(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Records the spec a Distiller built instead of sending it. */
    private static final class CapturingRunner implements JobRunner {
        DistillSpec spec;

        @Override
        public DistillSpec validate(DistillSpec spec, LocalFiles files, Deadline deadline) {
            this.spec = spec;
            return spec;
        }

        @Override
        public String submit(DistillSpec spec, LocalFiles files, Deadline deadline) {
            throw new UnsupportedOperationException();
        }

        @Override
        public FinishedEvent watch(String jobId, Deadline deadline, Consumer<JobEvent> onEvent) {
            throw new UnsupportedOperationException();
        }

        @Override
        public ArtifactSource artifacts(String jobId) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void cancel(String jobId) {
        }
    }
}
