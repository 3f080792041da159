package io.github.peft4j.sparse.dsee;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.linalg.LowRank;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * DSEE on one linear layer: y = x Wᵀ + b + s·(x Aᵀ) Bᵀ + x Sᵀ, S [out, in] zero but at its trained positions. Both
 * paths; merge adds ΔW = s·B A + S.
 */
public final class DseeLayer implements LayerAdapter {

    private final String path;
    private final double scaling;
    private final int rank;
    private final int out;
    private final int in;
    private final Parameter a;
    private final Parameter b;
    private final Parameter indices;
    private final Parameter values;

    DseeLayer(TargetLayer layer, DseeConfig config, AdapterContext ctx) {
        this.path = layer.path();
        this.scaling = config.scaling();
        this.rank = config.rank();
        this.out = Math.toIntExact(layer.outFeatures());
        this.in = Math.toIntExact(layer.inFeatures());
        int n = config.sparseCount();
        if (rank > Math.min(in, out) || n > (long) in * out || config.decompositionRank() > Math.min(in, out)) {
            throw new IllegalArgumentException("DseeConfig does not fit '" + layer.path() + "' [" + out + ", " + in
                    + "]: r " + rank + ", decomposition_rank " + config.decompositionRank() + " must be ≤ "
                    + Math.min(in, out) + " and sparse_count " + n + " ≤ " + (long) in * out);
        }
        SplittableRandom r = ctx.random(layer.path());
        NDManager m = ctx.manager();
        NDArray like = layer.weight().getArray();
        boolean zero = config.initWeights();
        a = ParameterValues.weight(
                m, "lora_A.weight", ParameterValues.kaimingUniform(r, rank, in), new Shape(rank, in), like);
        b = ParameterValues.weight(
                m,
                "lora_B.weight",
                zero ? new float[out * rank] : ParameterValues.kaimingUniform(r, out, rank),
                new Shape(out, rank),
                like);
        int[] pos = sparsePositions(like.toFloatArray(), out, in, config.decompositionRank(), n, config.seed());
        indices = Parameter.builder()
                .setName("dsee_indices")
                .setType(Parameter.Type.OTHER)
                .optRequiresGrad(false)
                .optArray(ParameterValues.create(m, pos, like.getDevice()))
                .build();
        float[] v = new float[n];
        if (!zero) {
            v = ParameterValues.kaimingUniform(r, 1, n);
        }
        values = ParameterValues.weight(m, "dsee_values", v, new Shape(n), like);
    }

    /**
     * The n largest entries of |W − W_k| (W_k the rank-k truncated SVD), as sorted flat positions.
     *
     * @param w the weight, row-major [out, in]
     * @param out rows
     * @param in columns
     * @param k the decomposition rank
     * @param n how many positions
     * @param seed the randomized SVD's seed
     * @return ascending flat positions
     */
    static int[] sparsePositions(float[] w, int out, int in, int k, int n, long seed) {
        LowRank.Svd svd = LowRank.svd(w, out, in, k, 2, seed);
        double[] residual = new double[w.length];
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < in; j++) {
                double approx = 0;
                for (int t = 0; t < k; t++) {
                    approx += svd.u()[i * k + t] * svd.s()[t] * svd.vt()[t * in + j];
                }
                residual[i * in + j] = Math.abs(w[i * in + j] - approx);
            }
        }
        Integer[] order = new Integer[w.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Double.compare(residual[y], residual[x]));
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) {
            pos[i] = order[i];
        }
        Arrays.sort(pos);
        return pos;
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("lora_A.weight", a);
        m.put("lora_B.weight", b);
        m.put("dsee_indices", indices);
        m.put("dsee_values", values);
        return m;
    }

    @Override
    public boolean readsBaseWeight() {
        return false;
    }

    @Override
    public void afterLoad() {
        int[] pos = indices.getArray().toIntArray();
        for (int i = 0; i < pos.length; i++) {
            if (pos[i] < 0 || pos[i] >= (long) out * in || (i > 0 && pos[i] <= pos[i - 1])) {
                throw new IllegalArgumentException(
                        "'" + path + "': dsee_indices must be ascending flat positions in [0, " + out * in + "); entry "
                                + i + " is " + pos[i]);
            }
        }
    }

    /** S [out, in] from the values, with gradient to them, in {@code scope}. */
    private NDArray sparse(NDArray v, NDManager scope) {
        NDArray idx = indices.getArray().toType(DataType.INT64, false);
        idx.attach(scope);
        NDArray zeros = scope.zeros(new Shape((long) out * in), v.getDataType(), v.getDevice());
        NDArray s = zeros.put(idx, v).reshape(out, in);
        s.attach(scope);
        return s;
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        NDManager scope = input.getManager();
        NDArray low = Linear.linear(
                        Linear.linear(input, store.getValue(a, input.getDevice(), training), null)
                                .singletonOrThrow(),
                        store.getValue(b, input.getDevice(), training),
                        null)
                .singletonOrThrow();
        NDArray s = sparse(store.getValue(values, input.getDevice(), training), scope);
        NDArray sp = Linear.linear(input, s, null).singletonOrThrow();
        return baseOutput.add(Scalars.mul(low, scaling)).add(sp);
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        NDArray ba =
                store.getValue(b, weight.getDevice(), training).matMul(store.getValue(a, weight.getDevice(), training));
        ba.attach(scope);
        NDArray s = sparse(store.getValue(values, weight.getDevice(), training), scope);
        NDArray w = weight.add(Scalars.mul(ba, scaling)).add(s);
        w.attach(scope);
        return w;
    }

    @Override
    public NDArray deltaWeight(NDManager manager) {
        try (NDManager s = manager.newSubManager()) {
            NDArray av = a.getArray().stopGradient();
            av.attach(s);
            NDArray bv = b.getArray().stopGradient();
            bv.attach(s);
            NDArray vv = values.getArray().stopGradient();
            vv.attach(s);
            NDArray ba = bv.matMul(av);
            ba.attach(s);
            NDArray d = Scalars.mul(ba, scaling).add(sparse(vv, s));
            d.attach(manager);
            return d;
        }
    }

    @Override
    public String describe() {
        return "rank-" + rank + " update, scaling " + scaling + ", plus "
                + values.getArray().size() + " sparse entries";
    }

    @Override
    public void close() {
        a.close();
        b.close();
        indices.close();
        values.close();
    }
}
