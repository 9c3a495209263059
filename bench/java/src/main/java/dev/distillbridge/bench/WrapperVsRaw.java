package dev.distillbridge.bench;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The client's DistilledModel against ONNX Runtime Java called directly, on the same artifact's
 * INT8 model and the same inputs (for text: raw gets the ids the client's tokenizer produced;
 * raw-tokenize runs that tokenizer inside the call). Parameters come from the command line:
 * {@code -p artifact=DIR -p inputs=inputs.json -p engine=wrapper,raw}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class WrapperVsRaw {
    @Param("")
    public String artifact;

    @Param("")
    public String inputs;

    @Param({"wrapper", "raw"})
    public String engine;

    @Param({"1", "32"})
    public int batch;

    private Engine open;
    private Request[] requests;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        open = Engine.open(Engine.Spec.forArtifact(engine, Path.of(artifact)));
        requests = Request.batches(Inputs.read(Path.of(inputs)), batch, open.requestTokenizer());
    }

    @Benchmark
    public float predict() {
        Request r = requests[next];
        next = (next + 1) % requests.length;
        return open.call(r);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        open.close();
    }
}
