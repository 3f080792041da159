package io.github.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import io.github.peft4j.core.Scalars;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What one dropout costs at the shapes of an all-MiniLM-L6-v2 training step (attention probabilities [16, 12, 128,
 * 128]; hidden states [16, 128, 384]): libtorch's {@code dropout} (a Bernoulli draw per element, the baseline) against
 * a mask from a uniform draw compared with p, scaled, and multiplied in, alternating in one JVM; medians of 30 after
 * 5 warm-up. docs/performance.md reads it: dropout is a quarter of the profiled training step.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.DropoutCost}
 */
public final class DropoutCost {

    private DropoutCost() {}

    /**
     * Measures.
     *
     * @param args unused
     */
    public static void main(String[] args) {
        double p = 0.1;
        System.out.printf(
                Locale.ROOT,
                "%d CPUs, p = %.1f%n| shape | libtorch dropout ms | uniform mask ms |%n| --- | ---: | ---: |%n",
                Runtime.getRuntime().availableProcessors(),
                p);
        try (NDManager m = NDManager.newBaseManager()) {
            for (Shape s : new Shape[] {new Shape(16, 12, 128, 128), new Shape(16, 128, 384)}) {
                NDArray x = m.randomNormal(s);
                List<Double> torch = new ArrayList<>();
                List<Double> mask = new ArrayList<>();
                for (int i = 0; i < 35; i++) {
                    long t0 = System.nanoTime();
                    try (NDManager sub = m.newSubManager()) {
                        NDList y = Dropout.dropout(x, (float) p, true);
                        y.singletonOrThrow().sum().getFloat();
                    }
                    long t1 = System.nanoTime();
                    try (NDManager sub = m.newSubManager()) {
                        NDArray u = sub.randomUniform(0f, 1f, s);
                        NDArray keep = Scalars.mul(u.gte(Scalars.of(u, p)), 1 / (1 - p));
                        x.mul(keep).sum().getFloat();
                    }
                    long t2 = System.nanoTime();
                    if (i >= 5) {
                        torch.add((t1 - t0) / 1e6);
                        mask.add((t2 - t1) / 1e6);
                    }
                }
                System.out.printf(
                        Locale.ROOT,
                        "| %s | %s | %s |%n",
                        s,
                        TrainRuns.stat(torch, "%.1f"),
                        TrainRuns.stat(mask, "%.1f"));
            }
        }
    }
}
