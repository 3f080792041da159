package io.github.peft4j.methods.bottleneck;

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
 * A bottleneck adapter after one layer: h ← h + s·(W_up f(W_down h + b_down) + b_up), h the layer's output [..., d].
 * Activation path only; nonlinear, so it has no ΔW and cannot be merged.
 */
public final class BottleneckLayer implements LayerAdapter {

    private final TargetLayer layer;
    private final NonLinearity f;
    private final double scaling;
    private final int width;
    private final Parameter downW;
    private final Parameter downB;
    private final Parameter upW;
    private final Parameter upB;

    BottleneckLayer(TargetLayer layer, BottleneckConfig config, AdapterContext ctx) {
        this.layer = layer;
        this.f = config.nonLinearity();
        this.scaling = config.scaling();
        int d = Math.toIntExact(layer.outFeatures());
        this.width = config.bottleneck(d);
        SplittableRandom r = ctx.random(layer.path());
        NDManager m = ctx.manager();
        NDArray like = layer.weight().getArray();
        boolean zero = config.initWeights();
        downW = ParameterValues.weight(
                m, "adapter_down.weight", ParameterValues.kaimingUniform(r, width, d), new Shape(width, d), like);
        downB = ParameterValues.weight(m, "adapter_down.bias", new float[width], new Shape(width), like);
        upW = ParameterValues.weight(
                m,
                "adapter_up.weight",
                zero ? new float[d * width] : ParameterValues.kaimingUniform(r, d, width),
                new Shape(d, width),
                like);
        upB = ParameterValues.weight(
                m,
                "adapter_up.bias",
                zero ? new float[d] : ParameterValues.kaimingUniform(r, 1, d),
                new Shape(d),
                like);
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("adapter_down.weight", downW);
        m.put("adapter_down.bias", downB);
        m.put("adapter_up.weight", upW);
        m.put("adapter_up.bias", upB);
        return m;
    }

    @Override
    public boolean readsBaseWeight() {
        return false;
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        NDArray h = Linear.linear(
                        baseOutput,
                        store.getValue(downW, baseOutput.getDevice(), training),
                        store.getValue(downB, baseOutput.getDevice(), training))
                .singletonOrThrow();
        NDArray up = Linear.linear(
                        f.apply(h),
                        store.getValue(upW, baseOutput.getDevice(), training),
                        store.getValue(upB, baseOutput.getDevice(), training))
                .singletonOrThrow();
        return baseOutput.add(Scalars.mul(up, scaling));
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        throw new UnsupportedOperationException(
                "a bottleneck adapter runs on the activation path only ('" + layer.path() + "')");
    }

    @Override
    public NDArray deltaWeight(NDManager manager) {
        throw new UnsupportedOperationException(
                "a bottleneck adapter is nonlinear and has no weight update ΔW ('" + layer.path() + "')");
    }

    @Override
    public void merge(NDArray weight) {
        deltaWeight(weight.getManager());
    }

    @Override
    public void unmerge(NDArray weight) {
        deltaWeight(weight.getManager());
    }

    @Override
    public String describe() {
        return "bottleneck " + layer.outFeatures() + " → " + width + " → " + layer.outFeatures() + " (" + f.jsonName()
                + "), scaling " + scaling;
    }

    @Override
    public void close() {
        downW.close();
        downB.close();
        upW.close();
        upB.close();
    }
}
