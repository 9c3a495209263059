package dev.distillbridge.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.Precision;
import dev.distillbridge.spring.LiveModel;
import dev.distillbridge.spring.ModelUpdater;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Hot swap without Spring: leases keep a swapped-out model open until its last request ends. */
class LiveModelTest {
    private static final float[] SAMPLE = {0.5f, -1f, 2f, 0f};

    @Test
    void aRequestInFlightKeepsTheOldModelOpenUntilItEnds() throws Exception {
        DistilledModel first = DistilledModel.load(TestArtifacts.tabular(), Precision.FP32);
        DistilledModel second = DistilledModel.load(TestArtifacts.tabular(), Precision.INT8);
        try (LiveModel live = new LiveModel(first)) {
            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch proceed = new CountDownLatch(1);
            CompletableFuture<Precision> slow = CompletableFuture.supplyAsync(() -> live.apply(m -> {
                inside.countDown();
                await(proceed);
                m.predict(SAMPLE); // would throw "model is closed" if the swap had closed it
                return m.precision();
            }));
            assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();

            CompletableFuture<DistilledModel> retired = live.swap(second);
            assertThat(live.apply(DistilledModel::precision)).isEqualTo(Precision.INT8);
            assertThat(retired).isNotDone();

            proceed.countDown();
            assertThat(slow.get(10, TimeUnit.SECONDS)).isEqualTo(Precision.FP32);
            assertThat(retired.get(10, TimeUnit.SECONDS)).isSameAs(first);
            assertThatThrownBy(() -> first.predict(SAMPLE)).hasMessageContaining("closed");
        }
        assertThatThrownBy(() -> second.predict(SAMPLE)).hasMessageContaining("closed");
    }

    @Test
    void requestsDuringRepeatedSwapsNeverSeeAClosedModel() throws Exception {
        Precision[] precisions = {Precision.FP32, Precision.INT8};
        List<DistilledModel> retired = new ArrayList<>();
        try (LiveModel live = new LiveModel(DistilledModel.load(TestArtifacts.tabular(), Precision.FP32))) {
            AtomicBoolean running = new AtomicBoolean(true);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<Integer>> workers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                workers.add(pool.submit(() -> {
                    int n = 0;
                    while (running.get()) {
                        live.apply(m -> m.predict(SAMPLE));
                        n++;
                    }
                    return n;
                }));
            }
            for (int i = 0; i < 50; i++) {
                retired.add(live.swap(DistilledModel.load(TestArtifacts.tabular(), precisions[i % 2]))
                        .get(30, TimeUnit.SECONDS));
            }
            running.set(false);
            int predictions = 0;
            for (Future<Integer> worker : workers) {
                predictions += worker.get(30, TimeUnit.SECONDS); // rethrows any "model is closed"
            }
            pool.shutdown();
            assertThat(predictions).isPositive();
            assertThat(retired).hasSize(50).doesNotHaveDuplicates();
        }
    }

    @Test
    void aClosedLiveModelRefusesRequestsAndSwaps() {
        LiveModel live = new LiveModel(DistilledModel.load(TestArtifacts.tabular()));
        live.close();
        assertThatThrownBy(() -> live.apply(DistilledModel::labels)).isInstanceOf(IllegalStateException.class);
        DistilledModel next = DistilledModel.load(TestArtifacts.tabular());
        assertThatThrownBy(() -> live.swap(next)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> next.predict(SAMPLE)).hasMessageContaining("closed");
    }

    @Test
    void anIncompatibleCandidateIsNamed() {
        try (DistilledModel tabular = DistilledModel.load(TestArtifacts.tabular());
                DistilledModel text = DistilledModel.load(TestArtifacts.text())) {
            assertThat(ModelUpdater.incompatibility(tabular, text)).get().asString().contains("modality");
            assertThat(ModelUpdater.incompatibility(tabular, tabular)).isEmpty();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
