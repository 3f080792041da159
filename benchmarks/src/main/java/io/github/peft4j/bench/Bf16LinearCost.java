package io.github.peft4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.nn.MixedLinear;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One frozen linear layer of all-MiniLM-L6-v2 at the README job's shapes (2,048 tokens: batch 16 × 128), float32
 * against the weight held in bf16 ({@link MixedLinear#storeWeightInBf16()}: the product in bf16 through libtorch,
 * the casts of x and of the result included), alternating in one JVM; medians [min–max] of 20 after 5 warm-up.
 * Evaluation is a forward pass; training is forward + backward to the input (the weight is frozen, as under an
 * adapter).
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.Bf16LinearCost}
 */
public final class Bf16LinearCost {

    private Bf16LinearCost() {}

    /**
     * Measures.
     *
     * @param args unused
     */
    public static void main(String[] args) {
        System.out.printf(
                Locale.ROOT,
                "%d CPUs%n| layer (in → out), tokens | case | float32 ms | bf16 weight ms |%n"
                        + "| --- | --- | ---: | ---: |%n",
                Runtime.getRuntime().availableProcessors());
        try (NDManager m = NDManager.newBaseManager()) {
            for (int[] shape : new int[][] {{384, 384}, {384, 1536}, {1536, 384}}) {
                row(m, shape[0], shape[1], 2048, false);
                row(m, shape[0], shape[1], 2048, true);
            }
        }
    }

    private static MixedLinear layer(NDManager m, int in, int out) {
        MixedLinear l = MixedLinear.of(out, true);
        l.initialize(m, DataType.FLOAT32, new Shape(1, in));
        l.freezeParameters(true);
        return l;
    }

    private static void row(NDManager m, int in, int out, int tokens, boolean training) {
        MixedLinear fp32 = layer(m, in, out);
        MixedLinear bf16 = layer(m, in, out);
        bf16.storeWeightInBf16();
        NDArray x = m.randomNormal(new Shape(tokens, in));
        List<Double> a = new ArrayList<>();
        List<Double> b = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            double ta = time(m, fp32, x, training);
            double tb = time(m, bf16, x, training);
            if (i >= 5) {
                a.add(ta);
                b.add(tb);
            }
        }
        System.out.printf(
                Locale.ROOT,
                "| %d → %d, %d | %s | %s | %s |%n",
                in,
                out,
                tokens,
                training ? "forward + backward" : "forward",
                TrainRuns.stat(a, "%.2f"),
                TrainRuns.stat(b, "%.2f"));
    }

    private static double time(NDManager m, MixedLinear layer, NDArray x, boolean training) {
        long t0 = System.nanoTime();
        try (NDManager sub = m.newSubManager()) {
            x.tempAttach(sub);
            ParameterStore ps = new ParameterStore(sub, false);
            if (training) {
                x.setRequiresGradient(true);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.backward(layer.forward(ps, new NDList(x), true)
                            .singletonOrThrow()
                            .sum());
                }
                x.getGradient().sum().getFloat();
                x.setRequiresGradient(false);
            } else {
                layer.forward(ps, new NDList(x), false).singletonOrThrow().sum().getFloat();
            }
        }
        return (System.nanoTime() - t0) / 1e6;
    }
}
