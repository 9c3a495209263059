package dev.distillbridge.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.Precision;
import dev.distillbridge.inference.Prediction;
import dev.distillbridge.inference.Predictions;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A small soak of the hot-swap path (bench/soak.py runs the full size): 16 threads predict
 * through one {@link LiveModel} while another thread keeps swapping in freshly loaded models,
 * alternating the tiny artifact's FP32 and INT8 models. Every answer must be exactly the one the
 * model that served it gives (each precision's answers are computed beforehand), so an answer
 * from a half-closed or mixed-up model, or any failed request, fails the test. The run lasts
 * until every thread has made its predictions and at least {@link #MIN_SWAPS} swaps happened:
 * counts, not wall-clock time.
 */
class LiveModelSoakTest {
    private static final int THREADS = 16;
    private static final int PREDICTIONS_PER_THREAD = 2_000;
    private static final int MIN_SWAPS = 8;
    private static final int ROWS = 32;
    private static final int BATCH_EVERY = 10;

    @Test
    void sixteenThreadsNeverFailAndEveryAnswerComesFromOneCompleteModel() throws Exception {
        float[][] rows = rows();
        float[][] batch = {rows[0], rows[1], rows[2], rows[3]};
        Map<Precision, Prediction[]> single = new EnumMap<>(Precision.class);
        Map<Precision, Predictions> batched = new EnumMap<>(Precision.class);
        for (Precision p : Precision.values()) {
            try (DistilledModel model = DistilledModel.load(DistillBridgeAutoConfigurationTest.TINY, p)) {
                Prediction[] answers = new Prediction[ROWS];
                for (int i = 0; i < ROWS; i++) {
                    answers[i] = model.predict(rows[i]);
                }
                single.put(p, answers);
                batched.put(p, model.predict(batch)); // INT8 quantizes per batch: compare like with like
            }
        }

        LiveModel live = new LiveModel(DistilledModel.load(DistillBridgeAutoConfigurationTest.TINY, Precision.FP32));
        AtomicInteger swaps = new AtomicInteger();
        AtomicInteger workersLeft = new AtomicInteger(THREADS);
        AtomicLong answered = new AtomicLong();
        Map<Precision, AtomicLong> byPrecision = new EnumMap<>(Map.of(Precision.FP32, new AtomicLong(),
                Precision.INT8, new AtomicLong()));
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        List<CompletableFuture<DistilledModel>> retired = new ArrayList<>();
        AtomicBoolean swapping = new AtomicBoolean(true);

        Thread swapper = new Thread(() -> {
            try {
                for (int i = 1; workersLeft.get() > 0; i++) {
                    Precision next = i % 2 == 0 ? Precision.FP32 : Precision.INT8;
                    CompletableFuture<DistilledModel> closed = live.swap(
                            DistilledModel.load(DistillBridgeAutoConfigurationTest.TINY, next));
                    synchronized (retired) {
                        retired.add(closed);
                    }
                    swaps.incrementAndGet();
                }
            } catch (RuntimeException e) {
                problems.add("swap failed: " + e);
            } finally {
                swapping.set(false); // workers stop waiting for more swaps
            }
        }, "swapper");
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int offset = t * 7;
            workers.add(new Thread(() -> {
                try {
                    for (int n = 0; n < PREDICTIONS_PER_THREAD || swaps.get() < MIN_SWAPS && swapping.get(); n++) {
                        int k = (offset + n) % ROWS;
                        String problem = n % BATCH_EVERY == 0 ? checkBatch(live, batch, batched, byPrecision)
                                : checkRow(live, rows[k], k, single, byPrecision);
                        if (problem != null) {
                            problems.add(problem);
                        }
                        answered.incrementAndGet();
                    }
                } catch (RuntimeException e) {
                    problems.add("request failed: " + e);
                } finally {
                    workersLeft.decrementAndGet();
                }
            }, "worker-" + t));
        }
        swapper.start();
        workers.forEach(Thread::start);
        for (Thread w : workers) {
            w.join();
        }
        swapper.join();
        live.close();

        assertThat(problems).as("failed requests and answers no single model gives").isEmpty();
        assertThat(answered.get()).isGreaterThanOrEqualTo((long) THREADS * PREDICTIONS_PER_THREAD);
        assertThat(swaps.get()).isGreaterThanOrEqualTo(MIN_SWAPS);
        assertThat(byPrecision.get(Precision.FP32).get()).isPositive();
        assertThat(byPrecision.get(Precision.INT8).get()).isPositive();
        synchronized (retired) {
            // every swapped-out model was closed once its last request returned (the last one at close())
            CompletableFuture.allOf(retired.toArray(CompletableFuture[]::new)).join();
        }
    }

    private static String checkRow(LiveModel live, float[] row, int k, Map<Precision, Prediction[]> expected,
            Map<Precision, AtomicLong> byPrecision) {
        return live.apply(model -> {
            Prediction actual = model.predict(row);
            byPrecision.get(model.precision()).incrementAndGet();
            Prediction want = expected.get(model.precision())[k];
            return actual.equals(want) ? null
                    : "row " + k + " from the " + model.precision() + " model: " + actual + ", expected " + want;
        });
    }

    private static String checkBatch(LiveModel live, float[][] batch, Map<Precision, Predictions> expected,
            Map<Precision, AtomicLong> byPrecision) {
        return live.apply(model -> {
            Predictions actual = model.predict(batch);
            byPrecision.get(model.precision()).incrementAndGet();
            return actual.equals(expected.get(model.precision())) ? null
                    : "batch from the " + model.precision() + " model: " + actual + ", expected "
                            + expected.get(model.precision());
        });
    }

    private static float[][] rows() {
        Random random = new Random(42);
        float[][] rows = new float[ROWS][4];
        for (float[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                row[i] = random.nextFloat() * 8 - 1;
            }
        }
        return rows;
    }
}
