package dev.distillbridge.client;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.FileObject;
import javax.tools.ForwardingJavaFileManager;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileManager;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every {@code ```java} block of the repository's README.md compiles against this client, as a
 * user would paste it: in a class of its own package (so only the public API is visible), with
 * the imports a user would write. Names a fragment uses without declaring them (a
 * {@code bridge}, the {@code rawFeatures} of a sample) come from an HTML comment right before
 * the block, {@code <!-- java-given: float[] rawFeatures = new float[20]; -->}, prepended to it.
 *
 * <p>A block is compiled as the body of a method, or, when it is itself a declaration (starts
 * with an annotation or declares a method), as members of the class; its java-given is
 * prepended in the same place. Nothing runs: the classes are compiled in memory and dropped.
 */
class ReadmeSnippetsTest {
    static final List<String> IMPORTS = List.of("dev.distillbridge.client.*", "dev.distillbridge.spec.*",
            "dev.distillbridge.inference.*", "dev.distillbridge.tokenizer.*", "java.nio.file.*", "java.util.*",
            "java.time.*", "java.util.concurrent.*");
    private static final Pattern GIVEN = Pattern.compile("<!--\\s*java-given:(.*?)-->", Pattern.DOTALL);
    /** A block that declares a method rather than running statements: {@code Type name(args) {}. */
    private static final Pattern METHOD_DECLARATION = Pattern.compile(
            "^(public |protected |private |static |final |synchronized )*[\\w.<>\\[\\], ?]+\\s+\\w+\\s*\\([^;=]*\\)"
                    + "\\s*(throws [\\w., ]+)?\\s*\\{.*");

    /** One {@code ```java} block: its first code line in README.md (1-based) and its java-given. */
    record Snippet(int firstLine, String code, String given, int givenLine) {
        boolean declaresMembers() {
            for (String line : code.split("\n")) {
                String t = line.strip();
                if (t.isEmpty() || t.startsWith("//")) {
                    continue;
                }
                return t.startsWith("@") || METHOD_DECLARATION.matcher(t).matches();
            }
            return false;
        }
    }

    static Path readme() {
        Path root = Path.of(System.getProperty("distillbridge.repoRoot", "..")).toAbsolutePath().normalize();
        return root.resolve("README.md");
    }

    /** The {@code ```java} blocks of a markdown file, each with the java-given comment right before it. */
    static List<Snippet> snippets(List<String> lines) {
        List<Snippet> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).strip().equals("```java")) {
                continue;
            }
            int fence = i;
            StringBuilder code = new StringBuilder();
            for (i = i + 1; i < lines.size() && !lines.get(i).strip().equals("```"); i++) {
                code.append(lines.get(i)).append('\n');
            }
            String given = "";
            int givenLine = -1;
            if (fence > 0 && lines.get(fence - 1).strip().endsWith("-->")) {
                int start = fence - 1;
                while (start > 0 && !lines.get(start).contains("<!--")) {
                    start--;
                }
                Matcher m = GIVEN.matcher(String.join("\n", lines.subList(start, fence)));
                if (m.find()) {
                    given = m.group(1).strip();
                    givenLine = start + 1;
                }
            }
            out.add(new Snippet(fence + 2, code.toString(), given, givenLine));
        }
        return out;
    }

    @Test
    void theReadmeHasJavaBlocks() throws IOException {
        assertFalse(snippets(Files.readAllLines(readme())).isEmpty(), "no ```java block found in " + readme());
    }

    @Test
    void aBrokenSnippetIsReportedWithItsReadmeLine() {
        List<String> markdown = List.of("# x", "<!-- java-given: int given = 1; -->", "```java",
                "int fine = given;", "String broken = 42;", "```");
        Snippet snippet = snippets(markdown).get(0);
        String problems = compile(snippet, "test.md");
        if (!problems.contains("test.md:5:")) {
            fail("expected a problem on line 5, got: " + problems);
        }
    }

    @TestFactory
    Stream<DynamicTest> everyJavaBlockOfTheReadmeCompiles() throws IOException {
        Path readme = readme();
        return snippets(Files.readAllLines(readme)).stream().map(snippet -> DynamicTest.dynamicTest(
                "README.md:" + (snippet.firstLine() - 1), () -> {
                    String problems = compile(snippet, "README.md");
                    if (!problems.isEmpty()) {
                        fail("the ```java block at README.md line " + (snippet.firstLine() - 1)
                                + " does not compile against the client:\n" + problems);
                    }
                }));
    }

    /** Compiles one snippet in memory; "" when it compiles, else one line per error. */
    static String compile(Snippet snippet, String fileName) {
        String className = "Readme" + snippet.firstLine();
        StringBuilder source = new StringBuilder("package readme.snippets;\n");
        IMPORTS.forEach(i -> source.append("import ").append(i).append(";\n"));
        boolean members = snippet.declaresMembers();
        source.append("class ").append(className).append(" {\n");
        if (!members) {
            source.append("void snippet() throws Exception {\n");
        }
        int givenFirst = lineCount(source) + 1;
        source.append(snippet.given()).append('\n');
        int codeFirst = lineCount(source) + 1;
        source.append(snippet.code());
        source.append(members ? "}\n" : "}\n}\n");

        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        StandardJavaFileManager standard = compiler.getStandardFileManager(diagnostics, Locale.ROOT,
                StandardCharsets.UTF_8);
        JavaFileObject unit = new SimpleJavaFileObject(URI.create("string:///readme/snippets/" + className + ".java"),
                JavaFileObject.Kind.SOURCE) {
            @Override
            public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                return source;
            }
        };
        List<String> options = List.of("-classpath", System.getProperty("java.class.path"), "-proc:none",
                "--release", "17");
        boolean ok = compiler.getTask(null, new InMemoryOutput(standard), diagnostics, options, null, List.of(unit))
                .call();
        List<String> problems = new ArrayList<>();
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() != Diagnostic.Kind.ERROR) {
                continue;
            }
            long line = d.getLineNumber();
            String where;
            if (line >= codeFirst) {
                where = fileName + ":" + (snippet.firstLine() + line - codeFirst);
            } else if (line >= givenFirst && snippet.givenLine() > 0) {
                where = fileName + ":" + snippet.givenLine() + " (java-given)";
            } else {
                where = fileName + ": (wrapper line " + line + ")";
            }
            problems.add(where + ": " + d.getMessage(Locale.ROOT));
        }
        if (!ok && problems.isEmpty()) {
            problems.add(fileName + ":" + snippet.firstLine() + ": compilation failed without a diagnostic");
        }
        if (problems.isEmpty()) {
            return "";
        }
        return problems.stream().collect(Collectors.joining("\n")) + "\n--- compiled as ---\n" + numbered(source);
    }

    private static int lineCount(CharSequence text) {
        return (int) text.chars().filter(c -> c == '\n').count();
    }

    private static String numbered(CharSequence source) {
        String[] lines = source.toString().split("\n", -1);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            out.append(String.format("%3d  %s%n", i + 1, lines[i]));
        }
        return out.toString();
    }

    /** Keeps class files in memory (and drops them): nothing is written to disk. */
    private static final class InMemoryOutput extends ForwardingJavaFileManager<JavaFileManager> {
        InMemoryOutput(JavaFileManager delegate) {
            super(delegate);
        }

        @Override
        public JavaFileObject getJavaFileForOutput(Location location, String className, JavaFileObject.Kind kind,
                FileObject sibling) {
            return new SimpleJavaFileObject(URI.create("mem:///" + className.replace('.', '/') + kind.extension),
                    kind) {
                @Override
                public OutputStream openOutputStream() {
                    return new ByteArrayOutputStream();
                }
            };
        }
    }
}
