package dev.distillbridge.bench;

import com.google.gson.GsonBuilder;
import dev.distillbridge.inference.DistilledModel;
import dev.distillbridge.inference.LoadTimings;
import dev.distillbridge.inference.OptimizationLevel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;

import java.util.Map;

/**
 * One cold start of DistilledModel in this fresh JVM: load (ONNX Runtime's start in the
 * background, the artifact read and hashed, the session, the golden vectors) then the first
 * prediction, with the load's phases. The JVM is up and the inputs read before the clock starts.
 * {@code --mode prepare} only starts ONNX Runtime (filling the native-library cache) and reports
 * how long that took.
 *
 * <pre>
 * java [-Ddistillbridge.onnxruntime.cache=DIR|off] -cp target/classes:target/lib/* dev.distillbridge.bench.ColdStart \
 *   --artifact DIR --inputs inputs.json --out result.json [--optimization ALL|EXTENDED|BASIC|NONE] [--mode prepare]
 * </pre>
 */
public final class ColdStart {
    private ColdStart() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = InferenceBench.options(args, "out");
        Map<String, Object> out = new LinkedHashMap<>();
        if ("prepare".equals(opt.get("mode"))) {
            long t0 = System.nanoTime();
            DistilledModel.startRuntime();
            out.put("runtime_start_ns", System.nanoTime() - t0);
            out.put("native_dir", DistilledModel.nativeLibraryDirectory().map(Path::toString).orElse(null));
            Files.writeString(Path.of(opt.get("out")), new GsonBuilder().create().toJson(out));
            return;
        }
        Inputs inputs = Inputs.read(Path.of(opt.get("inputs")));
        Path artifact = Path.of(opt.get("artifact"));
        OptimizationLevel level = OptimizationLevel.valueOf(opt.getOrDefault("optimization", "ALL"));
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = threads.getCurrentThreadCpuTime();
        long proc0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        DistilledModel model = DistilledModel.builder(artifact).optimizationLevel(level).build();
        long t1 = System.nanoTime();
        float sink = inputs.isText() ? model.predict(inputs.texts().get(0)).confidence()
                : model.predict(inputs.rows()[0]).confidence();
        long t2 = System.nanoTime();
        // CPU time moves less than wall time when other jobs share the cores
        out.put("main_cpu_ns", threads.getCurrentThreadCpuTime() - cpu0);
        out.put("process_cpu_ns", os.getProcessCpuTime() - proc0);
        LoadTimings t = model.loadTimings();
        Map<String, Long> phases = new LinkedHashMap<>();
        phases.put("verify_ns", nanos(t.verify()));
        phases.put("runtime_wait_ns", nanos(t.runtimeWait()));
        phases.put("session_ns", nanos(t.session()));
        phases.put("golden_ns", nanos(t.golden()));
        phases.put("first_ns", t2 - t1);
        out.put("total_ns", t2 - t0);
        out.put("load_ns", t1 - t0);
        out.put("phases", phases);
        out.put("runtime_start_ns", nanos(t.runtimeStart()));
        out.put("native_dir", DistilledModel.nativeLibraryDirectory().map(Path::toString).orElse(null));
        out.put("optimization", level.name());
        out.put("verified_by_record", model.verifiedByRecord());
        out.put("sink", sink);
        model.close();
        Files.writeString(Path.of(opt.get("out")), new GsonBuilder().create().toJson(out));
    }

    private static long nanos(Duration d) {
        return d.toNanos();
    }

}
