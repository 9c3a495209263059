package dev.distillbridge.bench;

import com.google.gson.GsonBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DistilledModel against raw ONNX Runtime Java, interleaved in one JVM: on the same artifact and
 * request, one wrapper call and one raw call back to back (alternating which goes first), so the
 * load of other jobs on a shared machine hits both sides of each pair alike. Sequential
 * benchmarks (JMH runs one configuration after the other) cannot cancel that drift, and a 5%
 * difference is smaller than the drift on a shared 2-core machine.
 *
 * <pre>
 * java -cp target/classes:target/lib/* dev.distillbridge.bench.PairedOverhead \
 *   --artifact DIR --inputs inputs.json --baseline raw|raw-tokenize --out result.json \
 *   [--seconds 3 --min-iters 100 --max-iters 100000 --warmup 20 --warmup-seconds 1]
 * </pre>
 * Writes, per batch size, the wrapper's and the baseline's per-call nanoseconds, pair by pair.
 */
public final class PairedOverhead {
    private static final int[] BATCHES = {1, 32};

    private PairedOverhead() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = InferenceBench.options(args, "artifact", "inputs", "baseline", "out");
        Path dir = Path.of(opt.get("artifact"));
        Inputs inputs = Inputs.read(Path.of(opt.get("inputs")));
        InferenceBench.Budget budget = InferenceBench.Budget.from(opt);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("baseline", opt.get("baseline"));
        try (Engine wrapper = Engine.open(Engine.Spec.forArtifact(Engine.WRAPPER, dir));
                Engine raw = Engine.open(Engine.Spec.forArtifact(opt.get("baseline"), dir))) {
            for (int b : BATCHES) {
                Request[] forWrapper = Request.batches(inputs, b, wrapper.requestTokenizer());
                Request[] forRaw = Request.batches(inputs, b, raw.requestTokenizer());
                out.put(Integer.toString(b), pairs(wrapper, forWrapper, raw, forRaw, budget));
            }
        }
        Files.writeString(Path.of(opt.get("out")), new GsonBuilder().create().toJson(out));
    }

    static Map<String, long[]> pairs(Engine a, Request[] forA, Engine b, Request[] forB,
            InferenceBench.Budget budget) {
        float sink = 0;
        long warm = System.nanoTime() + (long) (budget.warmupSeconds() * 1e9);
        for (int i = 0; i < budget.warmup() || System.nanoTime() < warm; i++) {
            sink += a.call(forA[i % forA.length]) + b.call(forB[i % forB.length]);
        }
        long[] timesA = new long[budget.maxIters()];
        long[] timesB = new long[budget.maxIters()];
        long deadline = System.nanoTime() + (long) (budget.seconds() * 1e9);
        int n = 0;
        while (n < budget.maxIters() && (n < budget.minIters() || System.nanoTime() < deadline)) {
            int r = n % forA.length;
            if (n % 2 == 0) {
                timesA[n] = time(a, forA[r]);
                timesB[n] = time(b, forB[r]);
            } else {
                timesB[n] = time(b, forB[r]);
                timesA[n] = time(a, forA[r]);
            }
            n++;
        }
        if (Float.isNaN(sink)) {
            System.err.println("NaN output");
        }
        return Map.of("wrapper_ns", Arrays.copyOf(timesA, n), "baseline_ns", Arrays.copyOf(timesB, n));
    }

    private static long time(Engine engine, Request request) {
        long start = System.nanoTime();
        engine.call(request);
        return System.nanoTime() - start;
    }
}
