package io.github.peft4j.methods.lokr;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.TargetLayer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LoKr on one linear layer: ΔW = (α / r) · (w1 ⊗ w2), with out = a·b and in = c·d split as Python's
 * {@code factorization}, w1 [a, c] and w2 [b, d], each full or a rank-r product as Python decides. The layer adds
 * x ΔWᵀ to the base output; merge adds ΔW.
 */
public final class LokrLayer implements LayerAdapter {

    private final TargetLayer layer;
    private final double scaling;
    private final Factor w1;
    private final Factor w2;
    private final int[] shape;

    LokrLayer(TargetLayer layer, LokrConfig config, AdapterContext ctx) {
        this.layer = layer;
        this.scaling = config.scaling();
        int out = Math.toIntExact(layer.outFeatures());
        int in = Math.toIntExact(layer.inFeatures());
        int[] o = factorization(out, config.decomposeFactor());
        int[] i = factorization(in, config.decomposeFactor());
        this.shape = new int[] {o[0], o[1], i[0], i[1]};
        int r = config.rank();
        // Python: use_w1 = not (decompose_both and r < max(a, c) / 2); use_w2 = not (r < max(b, d) / 2)
        boolean split1 = config.decomposeBoth() && r < Math.max(o[0], i[0]) / 2.0;
        boolean split2 = r < Math.max(o[1], i[1]) / 2.0;
        String zero1 = "";
        String zero2 = "";
        if (config.init() == LokrInit.DEFAULT) {
            zero1 = split1 ? "a" : "full";
        } else if (config.init() == LokrInit.LYCORIS) {
            zero2 = split2 ? "b" : "full";
        }
        SplittableRandom rnd = ctx.random(layer.path());
        NDArray like = layer.weight().getArray();
        w1 = Factor.create("lokr_w1", split1, o[0], i[0], r, zero1, rnd, ctx.manager(), like);
        w2 = Factor.create("lokr_w2", split2, o[1], i[1], r, zero2, rnd, ctx.manager(), like);
    }

    /**
     * Splits a dimension into m · n with m ≤ n, as Python PEFT's {@code factorization}: m = factor when it divides the
     * dimension, otherwise the divisor pair closest to the square root whose smaller part does not exceed the factor
     * (-1: no limit).
     *
     * @param dimension the dimension
     * @param factor the requested factor, or -1
     * @return {m, n}
     */
    static int[] factorization(int dimension, int factor) {
        if (factor > 0 && dimension % factor == 0) {
            return new int[] {factor, dimension / factor};
        }
        int limit = factor == -1 ? dimension : factor;
        int m = 1;
        int n = dimension;
        int length = m + n;
        while (m < n) {
            int newM = m + 1;
            while (dimension % newM != 0) {
                newM++;
            }
            int newN = dimension / newM;
            if (newM + newN > length || newM > limit) {
                break;
            }
            m = newM;
            n = newN;
        }
        return m > n ? new int[] {n, m} : new int[] {m, n};
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        w1.putParameters(m);
        w2.putParameters(m);
        return m;
    }

    @Override
    public boolean readsBaseWeight() {
        return false;
    }

    /** s · (w1 ⊗ w2) [a·b, c·d] from the factors' values, temporaries in {@code scope}. */
    private NDArray kron(NDArray f1, NDArray f2, NDManager scope) {
        NDArray x = f1.reshape(shape[0], 1, shape[2], 1);
        x.attach(scope);
        NDArray y = f2.reshape(1, shape[1], 1, shape[3]);
        y.attach(scope);
        NDArray k = x.mul(y).reshape((long) shape[0] * shape[1], (long) shape[2] * shape[3]);
        k.attach(scope);
        return Scalars.mul(k, scaling);
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        NDManager scope = input.getManager();
        NDArray d = kron(w1.value(store, input, training, scope), w2.value(store, input, training, scope), scope);
        return baseOutput.add(Linear.linear(input, d, null).singletonOrThrow());
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        throw new UnsupportedOperationException("LoKr runs on the activation path only ('" + layer.path() + "')");
    }

    @Override
    public NDArray deltaWeight(NDManager manager) {
        try (NDManager s = manager.newSubManager()) {
            NDArray d = kron(w1.detached(s), w2.detached(s), s);
            d.attach(manager);
            return d;
        }
    }

    @Override
    public String describe() {
        return "Kronecker product of " + (w1.decomposed() ? "a low-rank " : "a full ") + "[" + shape[0] + ", "
                + shape[2] + "] and " + (w2.decomposed() ? "a low-rank " : "a full ") + "[" + shape[1] + ", "
                + shape[3] + "] factor, scaling " + scaling;
    }

    @Override
    public void close() {
        w1.close();
        w2.close();
    }
}
