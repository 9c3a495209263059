package dev.distillbridge.inference;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Run in a JVM of its own by {@link LongClasspathTest}: loads an artifact and predicts on the
 * main thread, then on a new thread with the default stack, printing one line for each.
 */
public final class LongClasspathMain {
    private LongClasspathMain() {
    }

    public static void main(String[] args) throws Exception {
        Path artifact = Path.of(args[0]);
        boolean threadFirst = args.length > 1 && args[1].equals("thread-first");
        Runnable onThread = () -> System.out.println("thread " + predict(artifact));
        if (threadFirst) { // the first ORT use happens on a default-stack thread
            Thread thread = new Thread(onThread);
            thread.start();
            thread.join();
            System.out.println("main " + predict(artifact));
        } else {
            System.out.println("main " + predict(artifact));
            Thread thread = new Thread(onThread);
            thread.start();
            thread.join();
        }
    }

    private static String predict(Path artifact) {
        try (DistilledModel model = DistilledModel.load(artifact)) {
            float[] input = new float[4];
            Arrays.fill(input, 0.5f);
            return "ok " + model.predict(input).label();
        }
    }
}
