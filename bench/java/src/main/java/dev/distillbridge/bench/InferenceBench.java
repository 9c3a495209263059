package dev.distillbridge.bench;

import ai.onnxruntime.OrtEnvironment;
import com.google.gson.GsonBuilder;
import dev.distillbridge.tokenizer.TokenizedBatch;
import dev.distillbridge.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Measures one engine on one model in this (fresh) JVM and writes raw figures as JSON; the
 * Python orchestrator summarises them. Order: RSS before anything native, cold start (ORT
 * environment, load, first prediction; DistilledModel starts the environment itself, overlapping
 * its load), per-call latency at batch 1 and batch 32, throughput of
 * batch-1 calls from 1 and 2 threads sharing the model, RSS, then a second load in the same JVM.
 *
 * <pre>
 * java -cp target/classes:target/lib/* dev.distillbridge.bench.InferenceBench \
 *   --engine wrapper|raw|raw-tokenize --model DIR_OR_ONNX [--tokenizer tokenizer.json --max-length 64] \
 *   --inputs inputs.json --out result.json \
 *   [--seconds 3 --min-iters 100 --max-iters 100000 --warmup 20 --warmup-seconds 1]
 * </pre>
 */
public final class InferenceBench {
    private static final int[] BATCHES = {1, 32};
    private static final int[] THREADS = {1, 2};

    private InferenceBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = options(args, "engine", "model", "inputs", "out");
        Engine.Spec spec = new Engine.Spec(opt.get("engine"), Path.of(opt.get("model")),
                opt.containsKey("tokenizer") ? Path.of(opt.get("tokenizer")) : null,
                Integer.parseInt(opt.getOrDefault("max-length", "0")));
        Inputs inputs = Inputs.read(Path.of(opt.get("inputs")));
        Budget budget = Budget.from(opt);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("engine", spec.kind());
        out.put("model", spec.model().toString());
        out.put("rss_baseline_kib", Rss.current());

        long t0 = System.nanoTime();
        if (!spec.kind().equals(Engine.WRAPPER)) {
            OrtEnvironment.getEnvironment(); // loads the native library: part of a cold start
        }
        long t1 = System.nanoTime();
        Engine engine = Engine.open(spec);
        long t2 = System.nanoTime();
        float sink = engine.call(Request.of(inputs, 0, 1, engine.requestTokenizer()));
        long t3 = System.nanoTime();
        if (engine instanceof Engine.Wrapper w) {
            // DistilledModel starts ONNX Runtime in the background while it hashes the artifact:
            // "env" is the part of that start the load waited for
            long wait = w.model().loadTimings().runtimeWait().toNanos();
            out.put("cold", Map.of("env_ns", wait, "load_ns", t2 - t0 - wait, "first_ns", t3 - t2));
        } else {
            out.put("cold", Map.of("env_ns", t1 - t0, "load_ns", t2 - t1, "first_ns", t3 - t2));
        }
        out.put("ort_version", OrtEnvironment.getEnvironment().getVersion());

        Map<Integer, Request[]> requests = new HashMap<>();
        for (int b : BATCHES) {
            requests.put(b, Request.batches(inputs, b, engine.requestTokenizer()));
        }
        Map<String, Object> latency = new LinkedHashMap<>();
        for (int b : BATCHES) {
            long[] samples = latency(engine, requests.get(b), budget);
            sink += samples.length;
            latency.put(Integer.toString(b), samples);
        }
        out.put("latency_ns", latency);
        Map<String, Object> throughput = new LinkedHashMap<>();
        for (int threads : THREADS) {
            throughput.put(Integer.toString(threads), throughput(engine, requests.get(1), threads, budget));
        }
        out.put("throughput", throughput);
        out.put("rss_kib", Rss.current());
        out.put("rss_peak_kib", Rss.peak());
        if (engine.tokenizer() != null) {
            out.put("ids_sha256", idsDigest(engine.tokenizer(), inputs));
        } else if (!inputs.isText()) {
            out.put("x_sha256", floatsDigest(inputs));
        }
        engine.close();

        long r0 = System.nanoTime();
        try (Engine again = Engine.open(spec)) {
            long r1 = System.nanoTime();
            sink += again.call(Request.of(inputs, 0, 1, again.requestTokenizer()));
            out.put("reload", Map.of("load_ns", r1 - r0, "first_ns", System.nanoTime() - r1));
        }
        out.put("sink", sink);
        Files.writeString(Path.of(opt.get("out")), new GsonBuilder().create().toJson(out));
    }

    record Budget(double seconds, int minIters, int maxIters, int warmup, double warmupSeconds) {
        static Budget from(Map<String, String> opt) {
            return new Budget(Double.parseDouble(opt.getOrDefault("seconds", "3")),
                    Integer.parseInt(opt.getOrDefault("min-iters", "100")),
                    Integer.parseInt(opt.getOrDefault("max-iters", "100000")),
                    Integer.parseInt(opt.getOrDefault("warmup", "20")),
                    Double.parseDouble(opt.getOrDefault("warmup-seconds", "1")));
        }
    }

    /**
     * Per-call nanoseconds, cycling over the requests, after a warm-up of at least `warmup` calls
     * and `warmupSeconds` (so the JIT has compiled the call path): at least minIters and
     * `seconds`, at most maxIters.
     */
    static long[] latency(Engine engine, Request[] requests, Budget budget) {
        float sink = 0;
        long warm = System.nanoTime() + (long) (budget.warmupSeconds() * 1e9);
        for (int i = 0; i < budget.warmup() || System.nanoTime() < warm; i++) {
            sink += engine.call(requests[i % requests.length]);
        }
        long[] samples = new long[budget.maxIters()];
        long deadline = System.nanoTime() + (long) (budget.seconds() * 1e9);
        int n = 0;
        while (n < budget.maxIters() && (n < budget.minIters() || System.nanoTime() < deadline)) {
            long start = System.nanoTime();
            sink += engine.call(requests[n % requests.length]);
            samples[n++] = System.nanoTime() - start;
        }
        if (Float.isNaN(sink)) {
            System.err.println("NaN output");
        }
        return java.util.Arrays.copyOf(samples, n);
    }

    /** Batch-1 calls from `threads` threads sharing the engine for `seconds`: calls and elapsed ns. */
    static Map<String, Long> throughput(Engine engine, Request[] requests, int threads, Budget budget)
            throws InterruptedException {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong calls = new AtomicLong();
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int offset = t * requests.length / threads;
            Thread worker = new Thread(() -> {
                ready.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                long n = 0;
                for (int i = offset; !stop.get(); i++) {
                    engine.call(requests[i % requests.length]);
                    n++;
                }
                calls.addAndGet(n);
            });
            worker.start();
            workers.add(worker);
        }
        ready.await();
        long start = System.nanoTime();
        go.countDown();
        Thread.sleep((long) (budget.seconds() * 1000));
        stop.set(true);
        for (Thread w : workers) {
            w.join();
        }
        return Map.of("calls", calls.get(), "elapsed_ns", System.nanoTime() - start, "rows_per_call", 1L);
    }

    /**
     * SHA-256 over every request's ids as the model receives them (batch 1 requests, then batch
     * 32), each as rows, width, ids in little-endian int64: Python computes the same digest over
     * its ids, so equal digests mean both sides fed identical token ids.
     */
    static String idsDigest(Tokenizer tokenizer, Inputs inputs) throws NoSuchAlgorithmException {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (int b : BATCHES) {
            for (int start = 0; start + b <= inputs.size(); start += b) {
                TokenizedBatch batch = tokenizer.encodeBatch(inputs.texts().subList(start, start + b));
                long[] ids = batch.ids();
                ByteBuffer buf = ByteBuffer.allocate((2 + ids.length) * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                buf.putLong(batch.rows()).putLong(batch.length());
                for (long id : ids) {
                    buf.putLong(id);
                }
                sha.update(buf.array());
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** SHA-256 of the float rows as read, little-endian float32: Python hashes its file the same way. */
    static String floatsDigest(Inputs inputs) throws NoSuchAlgorithmException {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (float[] row : inputs.rows()) {
            ByteBuffer buf = ByteBuffer.allocate(row.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            buf.asFloatBuffer().put(row);
            sha.update(buf.array());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    static Map<String, String> options(String[] args, String... required) {
        Map<String, String> opt = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --option value, got " + args[i]);
            }
            opt.put(args[i].substring(2), args[i + 1]);
        }
        for (String name : required) {
            if (!opt.containsKey(name)) {
                throw new IllegalArgumentException("--" + name + " is required");
            }
        }
        return opt;
    }

    /** VmRSS / VmHWM of this process from /proc/self/status, in KiB. */
    static final class Rss {
        private Rss() {
        }

        static long current() throws IOException {
            return field("VmRSS:");
        }

        static long peak() throws IOException {
            return field("VmHWM:");
        }

        private static long field(String name) throws IOException {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(name)) {
                    return Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]);
                }
            }
            return -1;
        }
    }
}
