package io.github.peft4j.ssf;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
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
 * SSF on one layer: γ (scale) and β (shift) of the layer's output width. Activation path only: {@code y ← γ ⊙ y + β}.
 * Merge into the layer: linear W ← diag(γ) W, b ← γ ⊙ b + β; LayerNorm g ← γ ⊙ g, b ← γ ⊙ b + β. A layer without a
 * bias cannot absorb β, so merging it fails with a clear error.
 */
public final class SsfLayer implements LayerAdapter {

    private final TargetLayer layer;
    private final Parameter scale;
    private final Parameter shift;

    SsfLayer(TargetLayer layer, SsfConfig config, AdapterContext ctx) {
        this.layer = layer;
        int width = Math.toIntExact(layer.outFeatures());
        float[] g = new float[width];
        float[] b = new float[width];
        SplittableRandom r = ctx.random(layer.path());
        boolean normal = config.init() == SsfInit.NORMAL;
        for (int i = 0; i < width; i++) {
            g[i] = (float) (1 + (normal ? gaussian(r) * config.initStd() : 0));
            b[i] = (float) (normal ? gaussian(r) * config.initStd() : 0);
        }
        NDArray like = layer.weight().getArray();
        scale = param(ctx.manager(), "ssf_scale", g, like);
        shift = param(ctx.manager(), "ssf_shift", b, like);
    }

    private static double gaussian(SplittableRandom r) {
        return ParameterValues.gaussian(r);
    }

    private static Parameter param(NDManager m, String name, float[] v, NDArray like) {
        return Parameter.builder()
                .setName(name)
                .setType(Parameter.Type.WEIGHT)
                .optArray(ParameterValues.create(m, v, new Shape(v.length), like))
                .build();
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("ssf_scale", scale);
        m.put("ssf_shift", shift);
        return m;
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        NDArray g = store.getValue(scale, baseOutput.getDevice(), training);
        NDArray b = store.getValue(shift, baseOutput.getDevice(), training);
        return baseOutput.mul(g).add(b);
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        throw new UnsupportedOperationException("SSF runs on the activation path only ('" + layer.path() + "')");
    }

    /**
     * Returns diag(γ)W − W; the shift is not part of the weight (see {@link #merge}).
     *
     * @param manager owns the result
     * @return ΔW
     */
    @Override
    public NDArray deltaWeight(NDManager manager) {
        try (NDArray w = layer.weight().getArray().stopGradient();
                NDArray g = scale.getArray().stopGradient()) {
            NDArray gm = Scalars.sub(g, 1);
            gm.attach(manager);
            return gm.reshape(rowShape(w)).mul(w);
        }
    }

    private static Shape rowShape(NDArray w) {
        return w.getShape().dimension() == 2 ? new Shape(w.getShape().get(0), 1) : w.getShape();
    }

    @Override
    public void merge(NDArray weight) {
        if (layer.bias() == null) {
            throw new IllegalStateException(
                    "SSF on '" + layer.path() + "' cannot be merged: the layer has no bias to" + " absorb the shift β");
        }
        try (NDManager s = weight.getManager().newSubManager();
                NDArray w = weight.stopGradient();
                NDArray bias = layer.bias().getArray().stopGradient();
                NDArray g = scale.getArray().stopGradient();
                NDArray b = shift.getArray().stopGradient()) {
            NDArray newW = g.reshape(rowShape(w)).mul(w);
            newW.attach(s);
            NDArray newB = g.mul(bias).add(b);
            newB.attach(s);
            MergeChecks.requireFinite(newW, "SSF merged weight");
            MergeChecks.requireFinite(newB, "SSF merged bias");
            w.set(new NDIndex("..."), newW);
            bias.set(new NDIndex("..."), newB);
        }
    }

    @Override
    public void unmerge(NDArray weight) {
        try (NDManager s = weight.getManager().newSubManager();
                NDArray w = weight.stopGradient();
                NDArray bias = layer.bias().getArray().stopGradient();
                NDArray g = scale.getArray().stopGradient();
                NDArray b = shift.getArray().stopGradient()) {
            NDArray inv = Scalars.pow(g, -1);
            inv.attach(s);
            NDArray oldW = inv.reshape(rowShape(w)).mul(w);
            NDArray oldB = bias.sub(b);
            oldB.attach(s);
            w.set(new NDIndex("..."), oldW);
            bias.set(new NDIndex("..."), oldB.mul(inv));
        }
    }

    @Override
    public String describe() {
        return "scale and shift of " + layer.outFeatures() + " features";
    }

    @Override
    public void close() {
        scale.close();
        shift.close();
    }
}
