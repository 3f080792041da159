package io.github.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The rate of libtorch's float32 matrix products through DJL on this machine, at the shapes of an all-MiniLM-L6-v2
 * training step (batch 16 × 128 tokens = 2,048 rows; 384 → 384, 384 → 1536, 1536 → 384) and a square 2048³ product:
 * the GEMM-bound limit that docs/performance.md sets a step's FLOPs against. Medians of 20 products after 5 warm-up.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.GemmRate}
 */
public final class GemmRate {

    private GemmRate() {}

    /**
     * Measures.
     *
     * @param args unused
     */
    public static void main(String[] args) {
        long[][] shapes = {{2048, 384, 384}, {2048, 384, 1536}, {2048, 1536, 384}, {2048, 2048, 2048}};
        System.out.printf(
                Locale.ROOT,
                "%d CPUs%n| m × k × n | GFLOP/s median [min–max] |%n| --- | ---: |%n",
                Runtime.getRuntime().availableProcessors());
        try (NDManager m = NDManager.newBaseManager()) {
            for (long[] s : shapes) {
                NDArray a = m.randomNormal(new Shape(s[0], s[1]));
                NDArray b = m.randomNormal(new Shape(s[1], s[2]));
                List<Double> rates = new ArrayList<>();
                for (int i = 0; i < 25; i++) {
                    long t0 = System.nanoTime();
                    try (NDArray c = a.matMul(b)) {
                        c.getFloat(0, 0); // wait for the result
                    }
                    double sec = (System.nanoTime() - t0) / 1e9;
                    if (i >= 5) {
                        rates.add(2.0 * s[0] * s[1] * s[2] / sec / 1e9);
                    }
                }
                System.out.printf(
                        Locale.ROOT, "| %d × %d × %d | %s |%n", s[0], s[1], s[2], TrainRuns.stat(rates, "%.1f"));
            }
        }
    }
}
