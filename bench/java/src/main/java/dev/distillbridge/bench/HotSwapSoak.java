package dev.distillbridge.bench;

import com.google.gson.GsonBuilder;
import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.Precision;
import dev.distillbridge.inference.Prediction;
import dev.distillbridge.spring.LiveModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The hot-swap soak: {@code threads} threads each make {@code predictions} single-row
 * predictions through one {@link LiveModel} while a swapper loads the artifact's other precision
 * (INT8 and FP32 alternate) and swaps it in every {@code swap-seconds}; a sampler records VmRSS,
 * heap use and progress every {@code sample-seconds}. Every answer is checked against the one
 * the serving model's precision gives (computed before the soak), so a failed request or an
 * answer no single complete model gives is counted, never missed.
 *
 * <pre>
 * java -Xmx256m -cp target/classes:target/lib/* dev.distillbridge.bench.HotSwapSoak \
 *   --artifact DIR --inputs inputs.json --out result.json \
 *   [--threads 16 --predictions 1000000 --swap-seconds 3 --sample-seconds 1]
 * </pre>
 */
public final class HotSwapSoak {
    private static final int EXAMPLES = 5;

    private HotSwapSoak() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = InferenceBench.options(args, "artifact", "inputs", "out");
        Path artifact = Path.of(opt.get("artifact"));
        float[][] rows = Inputs.read(Path.of(opt.get("inputs"))).rows();
        int threads = Integer.parseInt(opt.getOrDefault("threads", "16"));
        long perThread = Long.parseLong(opt.getOrDefault("predictions", "1000000"));
        long swapMillis = (long) (Double.parseDouble(opt.getOrDefault("swap-seconds", "3")) * 1000);
        long sampleMillis = (long) (Double.parseDouble(opt.getOrDefault("sample-seconds", "1")) * 1000);

        Map<Precision, Prediction[]> expected = new EnumMap<>(Precision.class);
        for (Precision p : Precision.values()) {
            try (DistilledModel model = DistilledModel.load(artifact, p)) {
                Prediction[] answers = new Prediction[rows.length];
                for (int i = 0; i < rows.length; i++) {
                    answers[i] = model.predict(rows[i]);
                }
                expected.put(p, answers);
            }
        }

        Soak soak = new Soak(new LiveModel(DistilledModel.load(artifact, Precision.INT8)), rows, expected);
        long start = System.nanoTime();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int offset = t * 131;
            workers.add(new Thread(() -> soak.work(offset, perThread), "soak-worker-" + t));
        }
        AtomicInteger running = new AtomicInteger(threads);
        Thread swapper = new Thread(() -> soak.swapEvery(artifact, swapMillis, running), "soak-swapper");
        Thread sampler = new Thread(() -> soak.sampleEvery(sampleMillis, start, running), "soak-sampler");
        swapper.setDaemon(true);
        sampler.setDaemon(true);
        sampler.start();
        swapper.start();
        for (Thread w : workers) {
            w.start();
        }
        for (Thread w : workers) {
            w.join();
            running.decrementAndGet();
        }
        long elapsed = System.nanoTime() - start;
        swapper.join();
        sampler.join();
        soak.live.close();

        Map<String, Object> out = new LinkedHashMap<>();
        out.put("threads", threads);
        out.put("predictions_per_thread", perThread);
        out.put("answered", soak.answered.get());
        out.put("failures", soak.failures.get());
        out.put("mismatches", soak.mismatches.get());
        out.put("examples", List.copyOf(soak.examples));
        out.put("swaps", soak.swapLoadNs.size());
        out.put("swap_load_ns", List.copyOf(soak.swapLoadNs));
        out.put("by_precision", Map.of("FP32", soak.byPrecision.get(Precision.FP32).get(),
                "INT8", soak.byPrecision.get(Precision.INT8).get()));
        out.put("elapsed_ns", elapsed);
        out.put("samples", List.copyOf(soak.samples));
        Files.writeString(Path.of(opt.get("out")), new GsonBuilder().create().toJson(out));
    }

    /** The shared state of one soak. */
    private static final class Soak {
        final LiveModel live;
        final float[][] rows;
        final Map<Precision, Prediction[]> expected;
        final AtomicLong answered = new AtomicLong();
        final AtomicLong failures = new AtomicLong();
        final AtomicLong mismatches = new AtomicLong();
        final Map<Precision, AtomicLong> byPrecision = new EnumMap<>(Map.of(Precision.FP32, new AtomicLong(),
                Precision.INT8, new AtomicLong()));
        final ConcurrentLinkedQueue<String> examples = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Long> swapLoadNs = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Map<String, Object>> samples = new ConcurrentLinkedQueue<>();

        Soak(LiveModel live, float[][] rows, Map<Precision, Prediction[]> expected) {
            this.live = live;
            this.rows = rows;
            this.expected = expected;
        }

        void work(int offset, long n) {
            for (long i = 0; i < n; i++) {
                int k = (int) ((offset + i) % rows.length);
                try {
                    String problem = live.apply(model -> {
                        Prediction actual = model.predict(rows[k]);
                        byPrecision.get(model.precision()).incrementAndGet();
                        Prediction want = expected.get(model.precision())[k];
                        return actual.equals(want) ? null : "row " + k + " from " + model.precision() + ": " + actual
                                + ", expected " + want;
                    });
                    if (problem != null) {
                        mismatches.incrementAndGet();
                        example(problem);
                    }
                } catch (RuntimeException e) {
                    failures.incrementAndGet();
                    example("failed: " + e);
                }
                answered.incrementAndGet();
            }
        }

        void swapEvery(Path artifact, long millis, AtomicInteger running) {
            CompletableFuture<DistilledModel> previous = CompletableFuture.completedFuture(null);
            for (int i = 1; running.get() > 0; i++) {
                if (!sleep(millis, running)) {
                    return;
                }
                Precision next = i % 2 == 0 ? Precision.INT8 : Precision.FP32;
                long t0 = System.nanoTime();
                DistilledModel model = DistilledModel.load(artifact, next);
                swapLoadNs.add(System.nanoTime() - t0);
                previous.join(); // at most two models open: the one serving and the one draining
                previous = live.swap(model);
            }
        }

        void sampleEvery(long millis, long start, AtomicInteger running) {
            do {
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("t_s", (System.nanoTime() - start) / 1e9);
                s.put("answered", answered.get());
                s.put("swaps", swapLoadNs.size());
                s.put("rss_kib", rss());
                Runtime rt = Runtime.getRuntime();
                s.put("heap_used_kib", (rt.totalMemory() - rt.freeMemory()) / 1024);
                samples.add(s);
            } while (sleep(millis, running));
        }

        private void example(String problem) {
            if (examples.size() < EXAMPLES) {
                examples.add(problem);
            }
        }
    }

    /** Sleeps up to {@code millis}, waking early once the workers are done; false when they are. */
    private static boolean sleep(long millis, AtomicInteger running) {
        long until = System.currentTimeMillis() + millis;
        while (running.get() > 0 && System.currentTimeMillis() < until) {
            try {
                Thread.sleep(Math.min(50, millis));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return running.get() > 0;
    }

    private static long rss() {
        try {
            return InferenceBench.Rss.current();
        } catch (java.io.IOException e) {
            return -1;
        }
    }
}
