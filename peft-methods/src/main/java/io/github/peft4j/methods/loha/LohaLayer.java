package io.github.peft4j.methods.loha;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.TargetLayer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LoHa on one linear layer: y = x Wᵀ + b + x ΔWᵀ with ΔW = s · (W1a W1b) ⊙ (W2a W2b). The factors start as Python's:
 * Kaiming-uniform with a = √5 (bound 1/√fan_in), W2b zero unless {@code init_weights} is false. Merge adds ΔW (the
 * default of {@link LayerAdapter}).
 */
public final class LohaLayer implements LayerAdapter {

    private final TargetLayer layer;
    private final double scaling;
    private final int rank;
    private final Parameter w1a;
    private final Parameter w1b;
    private final Parameter w2a;
    private final Parameter w2b;

    LohaLayer(TargetLayer layer, LohaConfig config, AdapterContext ctx) {
        this.layer = layer;
        this.scaling = config.scaling();
        this.rank = config.rank();
        int out = Math.toIntExact(layer.outFeatures());
        int in = Math.toIntExact(layer.inFeatures());
        SplittableRandom r = ctx.random(layer.path());
        NDManager m = ctx.manager();
        NDArray like = layer.weight().getArray();
        w1a = ParameterValues.weight(
                m, "hada_w1_a", ParameterValues.kaimingUniform(r, out, rank), new Shape(out, rank), like);
        w1b = ParameterValues.weight(
                m, "hada_w1_b", ParameterValues.kaimingUniform(r, rank, in), new Shape(rank, in), like);
        w2a = ParameterValues.weight(
                m, "hada_w2_a", ParameterValues.kaimingUniform(r, out, rank), new Shape(out, rank), like);
        w2b = ParameterValues.weight(
                m,
                "hada_w2_b",
                config.initWeights() ? new float[rank * in] : ParameterValues.kaimingUniform(r, rank, in),
                new Shape(rank, in),
                like);
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("hada_w1_a", w1a);
        m.put("hada_w1_b", w1b);
        m.put("hada_w2_a", w2a);
        m.put("hada_w2_b", w2b);
        return m;
    }

    @Override
    public boolean readsBaseWeight() {
        return false;
    }

    /** ΔW = s · (W1a W1b) ⊙ (W2a W2b) from the given factor values, every array in {@code scope}. */
    private NDArray delta(NDArray a1, NDArray b1, NDArray a2, NDArray b2, NDManager scope) {
        NDArray p1 = a1.matMul(b1);
        p1.attach(scope);
        NDArray p2 = a2.matMul(b2);
        p2.attach(scope);
        return Scalars.mul(p1.mul(p2), scaling);
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        NDArray d = delta(
                store.getValue(w1a, input.getDevice(), training),
                store.getValue(w1b, input.getDevice(), training),
                store.getValue(w2a, input.getDevice(), training),
                store.getValue(w2b, input.getDevice(), training),
                input.getManager());
        return baseOutput.add(Linear.linear(input, d, null).singletonOrThrow());
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        throw new UnsupportedOperationException("LoHa runs on the activation path only ('" + layer.path() + "')");
    }

    @Override
    public NDArray deltaWeight(NDManager manager) {
        try (NDManager s = manager.newSubManager();
                NDArray a1 = w1a.getArray().stopGradient();
                NDArray b1 = w1b.getArray().stopGradient();
                NDArray a2 = w2a.getArray().stopGradient();
                NDArray b2 = w2b.getArray().stopGradient()) {
            NDArray d = delta(a1, b1, a2, b2, s);
            d.attach(manager);
            return d;
        }
    }

    @Override
    public String describe() {
        return "Hadamard product of two rank-" + rank + " products, scaling " + scaling;
    }

    @Override
    public void close() {
        w1a.close();
        w1b.close();
        w2a.close();
        w2b.close();
    }
}
