package io.github.peft4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.GradientCollector;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.nn.Attention;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The attention of one all-MiniLM-L6-v2 layer at the README job's shapes (q, k, v [batch, 12, 128, 32], a padding
 * mask): libtorch's {@code scaled_dot_product_attention} through {@link Attention} against the four DJL operations it
 * replaced (product, scale + mask, softmax, dropout, product), alternating in one JVM; medians of 20 after 5 warm-up.
 * Three cases: evaluation (batch 32, no dropout: the fused kernel), a training forward + backward with dropout 0.1
 * (batch 16: libtorch falls back to its composed path), and the same without dropout.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.AttentionCost}
 */
public final class AttentionCost {

    private AttentionCost() {}

    /**
     * Measures.
     *
     * @param args unused
     */
    public static void main(String[] args) {
        System.out.printf(
                Locale.ROOT,
                "%d CPUs%n| case | DJL operations ms | scaled_dot_product_attention ms |%n| --- | ---: | ---: |%n",
                Runtime.getRuntime().availableProcessors());
        try (NDManager m = NDManager.newBaseManager()) {
            row(m, "evaluation, batch 32", 32, 0, false);
            row(m, "training fwd+bwd, batch 16, dropout 0.1", 16, 0.1, true);
            row(m, "training fwd+bwd, batch 16, no dropout", 16, 0, true);
        }
    }

    private static void row(NDManager m, String name, int batch, double p, boolean training) {
        Shape s = new Shape(batch, 12, 128, 32);
        NDArray q = m.randomNormal(s);
        NDArray k = m.randomNormal(s);
        NDArray v = m.randomNormal(s);
        NDArray mask = Scalars.mul(
                        m.randomUniform(0f, 1f, new Shape(batch, 1, 1, 128)).gt(0.9f), -Float.MAX_VALUE)
                .toType(q.getDataType(), false);
        List<Double> composed = new ArrayList<>();
        List<Double> fused = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            double a = time(m, q, k, v, training, () -> composed(q, k, v, mask, p, training));
            double b = time(m, q, k, v, training, () -> Attention.scaledDotProduct(q, k, v, mask, p, training));
            if (i >= 5) {
                composed.add(a);
                fused.add(b);
            }
        }
        System.out.printf(
                Locale.ROOT,
                "| %s | %s | %s |%n",
                name,
                TrainRuns.stat(composed, "%.1f"),
                TrainRuns.stat(fused, "%.1f"));
    }

    private static NDArray composed(NDArray q, NDArray k, NDArray v, NDArray mask, double p, boolean training) {
        NDArray scores =
                Scalars.div(q.matMul(k.transpose(0, 1, 3, 2)), Math.sqrt(32)).add(mask);
        NDArray probs = scores.softmax(-1);
        if (training && p > 0) {
            probs = Dropout.dropout(probs, (float) p, true).singletonOrThrow();
        }
        return probs.matMul(v);
    }

    private static double time(
            NDManager m, NDArray q, NDArray k, NDArray v, boolean training, Supplier<NDArray> attention) {
        long t0 = System.nanoTime();
        try (NDManager sub = m.newSubManager()) {
            q.tempAttach(sub);
            k.tempAttach(sub);
            v.tempAttach(sub);
            if (training) {
                q.setRequiresGradient(true);
                k.setRequiresGradient(true);
                v.setRequiresGradient(true);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.backward(attention.get().sum());
                }
                q.setRequiresGradient(false);
                k.setRequiresGradient(false);
                v.setRequiresGradient(false);
            } else {
                attention.get().sum().getFloat();
            }
        }
        return (System.nanoTime() - t0) / 1e6;
    }
}
