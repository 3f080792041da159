package io.github.peft4j.methods.hydra;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.MergeChecks;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.TargetLayer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Hydra on one linear layer: y = x Wᵀ + b + s·(x A_pᵀ) B_pᵀ + s·((x A_sᵀ) B_sᵀ) Wᵀ, with A_p [r, in], B_p [out, r],
 * A_s [r, in], B_s [in, r]. The sequential branch reads W, so ΔW depends on it: merge keeps the ΔW it added and unmerge
 * subtracts that one.
 */
public final class HydraLayer implements LayerAdapter {

    private final TargetLayer layer;
    private final double scaling;
    private final int rank;
    private final Parameter pa;
    private final Parameter pb;
    private final Parameter sa;
    private final Parameter sb;
    private NDArray merged;

    HydraLayer(TargetLayer layer, HydraConfig config, AdapterContext ctx) {
        this.layer = layer;
        this.scaling = config.scaling();
        this.rank = config.rank();
        int out = Math.toIntExact(layer.outFeatures());
        int in = Math.toIntExact(layer.inFeatures());
        if (rank > Math.min(in, out)) {
            throw new IllegalArgumentException(
                    "HydraConfig.r must be ≤ min(in=" + in + ", out=" + out + ") for '" + layer.path() + "'");
        }
        SplittableRandom r = ctx.random(layer.path());
        NDManager m = ctx.manager();
        NDArray like = layer.weight().getArray();
        boolean zero = config.initWeights();
        pa = ParameterValues.weight(
                m, "hydra_p_A", ParameterValues.kaimingUniform(r, rank, in), new Shape(rank, in), like);
        pb = ParameterValues.weight(
                m,
                "hydra_p_B",
                zero ? new float[out * rank] : ParameterValues.kaimingUniform(r, out, rank),
                new Shape(out, rank),
                like);
        sa = ParameterValues.weight(
                m, "hydra_s_A", ParameterValues.kaimingUniform(r, rank, in), new Shape(rank, in), like);
        sb = ParameterValues.weight(
                m,
                "hydra_s_B",
                zero ? new float[in * rank] : ParameterValues.kaimingUniform(r, in, rank),
                new Shape(in, rank),
                like);
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("hydra_p_A", pa);
        m.put("hydra_p_B", pb);
        m.put("hydra_s_A", sa);
        m.put("hydra_s_B", sb);
        return m;
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        NDArray w = store.getValue(layer.weight(), input.getDevice(), training);
        NDArray par = Linear.linear(
                        Linear.linear(input, store.getValue(pa, input.getDevice(), training), null)
                                .singletonOrThrow(),
                        store.getValue(pb, input.getDevice(), training),
                        null)
                .singletonOrThrow();
        NDArray seq = Linear.linear(
                        Linear.linear(input, store.getValue(sa, input.getDevice(), training), null)
                                .singletonOrThrow(),
                        store.getValue(sb, input.getDevice(), training),
                        null)
                .singletonOrThrow();
        NDArray through = Linear.linear(seq, w, null).singletonOrThrow();
        return baseOutput.add(Scalars.mul(par.add(through), scaling));
    }

    /** s·(B_p A_p + W B_s A_s) from the given values, temporaries in {@code scope}. */
    private NDArray delta(NDArray w, NDArray a1, NDArray b1, NDArray a2, NDArray b2, NDManager scope) {
        NDArray p = b1.matMul(a1);
        p.attach(scope);
        NDArray s = b2.matMul(a2);
        s.attach(scope);
        NDArray ws = w.matMul(s);
        ws.attach(scope);
        NDArray sum = p.add(ws);
        return Scalars.mul(sum, scaling);
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        NDArray d = delta(
                weight,
                store.getValue(pa, weight.getDevice(), training),
                store.getValue(pb, weight.getDevice(), training),
                store.getValue(sa, weight.getDevice(), training),
                store.getValue(sb, weight.getDevice(), training),
                scope);
        NDArray out = weight.add(d);
        out.attach(scope);
        return out;
    }

    @Override
    public NDArray deltaWeight(NDManager manager) {
        if (merged != null) {
            NDArray d = merged.duplicate();
            d.attach(manager);
            return d;
        }
        try (NDManager s = manager.newSubManager()) {
            NDArray w = detached(layer.weight(), s);
            NDArray d = delta(w, detached(pa, s), detached(pb, s), detached(sa, s), detached(sb, s), s);
            d.attach(manager);
            return d;
        }
    }

    private static NDArray detached(Parameter p, NDManager scope) {
        NDArray v = p.getArray().stopGradient();
        v.attach(scope);
        return v;
    }

    @Override
    public void merge(NDArray weight) {
        if (merged != null) {
            return;
        }
        NDArray d = deltaWeight(weight.getManager());
        MergeChecks.requireFinite(d, "Hydra ΔW");
        try (NDArray w = weight.stopGradient();
                NDArray sum = w.add(d)) {
            w.set(new NDIndex("..."), sum);
        }
        merged = d;
    }

    @Override
    public void unmerge(NDArray weight) {
        if (merged == null) {
            return;
        }
        try (NDArray w = weight.stopGradient();
                NDArray diff = w.sub(merged)) {
            w.set(new NDIndex("..."), diff);
        }
        merged.close();
        merged = null;
    }

    @Override
    public String describe() {
        return "parallel and sequential rank-" + rank + " branches, scaling " + scaling;
    }

    @Override
    public void close() {
        pa.close();
        pb.close();
        sa.close();
        sb.close();
        if (merged != null) {
            merged.close();
        }
    }
}
