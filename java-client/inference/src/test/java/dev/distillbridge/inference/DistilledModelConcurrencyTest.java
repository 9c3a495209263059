package dev.distillbridge.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * One {@link DistilledModel} shared by {@value #THREADS} threads, {@value #PER_THREAD}
 * predictions each: every answer equals the single-threaded one, and a second full round does
 * not grow the process's resident memory beyond {@value #RSS_TOLERANCE_MIB} MiB (a leaked
 * OnnxTensor or Result per call would: ORT allocates native memory for each). It runs in a JVM of
 * its own with a fixed, pre-touched heap (the {@code native-memory} execution in pom.xml), so
 * that RSS changes are native. Measured here: +2.4 MiB over the second round; leaking one
 * {@code OrtSession.Result} per call gives +48 MiB and fails the test.
 */
class DistilledModelConcurrencyTest {
    static final int THREADS = 8;
    static final int PER_THREAD = 10_000;
    static final int DISTINCT_INPUTS = 1_000;
    /** Heap the JVM already has is reused; what remains is native growth plus noise. */
    static final long RSS_TOLERANCE_MIB = 24;

    private static final Pattern VM_RSS = Pattern.compile("VmRSS:\\s+(\\d+) kB");

    @Test
    @EnabledOnOs(OS.LINUX) // reads /proc/self/status
    void eightThreadsShareOneModelWithSingleThreadedResultsAndNoNativeGrowth() throws Exception {
        float[][] inputs = new float[DISTINCT_INPUTS][4];
        Random random = new Random(42);
        for (float[] row : inputs) {
            for (int i = 0; i < row.length; i++) {
                row[i] = (float) (random.nextGaussian() * 3);
            }
        }
        try (DistilledModel model = DistilledModel.load(DistilledModelTest.FIXTURE)) {
            List<Prediction> expected = new ArrayList<>();
            for (float[] row : inputs) {
                expected.add(model.predict(row));
            }
            assertTrue(expected.stream().map(Prediction::labelIndex).distinct().count() > 1,
                    "inputs that all give one label would prove little");

            long warmUpMismatches = round(model, inputs, expected); // JIT, heap and ORT arenas settle
            System.gc();
            long before = rssKiB();
            long heapBefore = heapCommittedKiB();
            long mismatches = round(model, inputs, expected);
            System.gc();
            long after = rssKiB();
            long heapAfter = heapCommittedKiB();
            // The Java heap may grow or shrink between the two readings (G1 gives memory back after
            // a full GC); what is left after taking that out is native memory.
            long nativeGrowth = (after - before) - (heapAfter - heapBefore);
            System.out.printf("DistilledModelConcurrencyTest: %d threads x %d predictions; VmRSS before %d KiB, "
                    + "after %d KiB (%+d KiB); heap committed %+d KiB; native growth %+d KiB (tolerance %d MiB)%n",
                    THREADS, PER_THREAD, before, after, after - before, heapAfter - heapBefore, nativeGrowth,
                    RSS_TOLERANCE_MIB);

            assertEquals(0, warmUpMismatches + mismatches, "predictions that differ from the single-threaded ones");
            assertTrue(nativeGrowth < RSS_TOLERANCE_MIB * 1024, "VmRSS grew by " + nativeGrowth
                    + " KiB beyond the heap over " + THREADS * PER_THREAD + " predictions");
        }
    }

    /** Runs THREADS x PER_THREAD predictions at once; returns how many differ from {@code expected}. */
    private static long round(DistilledModel model, float[][] inputs, List<Prediction> expected) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<Long>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int offset = t * 137; // each thread walks the inputs from a different place
                results.add(pool.submit(() -> {
                    start.await();
                    long wrong = 0;
                    for (int i = 0; i < PER_THREAD; i++) {
                        int k = (offset + i) % inputs.length;
                        if (!model.predict(inputs[k]).equals(expected.get(k))) {
                            wrong++;
                        }
                    }
                    return wrong;
                }));
            }
            start.countDown();
            long wrong = 0;
            for (Future<Long> result : results) {
                wrong += result.get(10, TimeUnit.MINUTES);
            }
            return wrong;
        } finally {
            pool.shutdownNow();
        }
    }

    static long heapCommittedKiB() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted() / 1024;
    }

    static long rssKiB() throws IOException {
        Matcher m = VM_RSS.matcher(Files.readString(Path.of("/proc/self/status")));
        if (!m.find()) {
            throw new IllegalStateException("no VmRSS in /proc/self/status");
        }
        return Long.parseLong(m.group(1));
    }
}
