package io.github.peft4j.methods.vera;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.core.nn.Dropouts;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * VeRA on one linear layer: {@code y = x Wᵀ + b + λ_b ⊙ ((λ_d ⊙ (dropout(x) A_sᵀ)) B_sᵀ)}, with A_s, B_s the top-left
 * [r, in] and [out, r] parts of the shared frozen projections, and only λ_b [out] and λ_d [r] trained. ΔW =
 * (λ_b B_s)(λ_d A_s); merge adds it.
 */
public final class VeraLayer implements LayerAdapter {

    private final TargetLayer layer;
    private final VeraProjection projection;
    private final int rank;
    private final long in;
    private final long out;
    private final double dropout;
    private final Parameter lambdaB;
    private final Parameter lambdaD;

    VeraLayer(TargetLayer layer, VeraConfig config, AdapterContext ctx, VeraProjection projection) {
        this.layer = layer;
        this.projection = projection;
        this.rank = config.rank();
        this.in = layer.inFeatures();
        this.out = layer.outFeatures();
        this.dropout = config.dropout();
        if (in > projection.maxIn() || out > projection.maxOut()) {
            throw new IllegalArgumentException("layer '" + layer.path() + "' [" + out + ", " + in
                    + "] is larger than the shared VeRA projections [" + projection.maxOut() + ", "
                    + projection.maxIn() + "]");
        }
        int o = Math.toIntExact(out);
        float[] b = new float[o];
        float[] d = new float[rank];
        if (config.initWeights()) {
            Arrays.fill(d, (float) config.dInitial());
        } else {
            // Python: λ_b = 1, λ_d ~ N(0, 1)
            Arrays.fill(b, 1f);
            SplittableRandom r = ctx.random(layer.path());
            for (int i = 0; i < rank; i++) {
                d[i] = (float) ParameterValues.gaussian(r);
            }
        }
        NDArray like = layer.weight().getArray();
        lambdaB = ParameterValues.weight(ctx.manager(), "vera_lambda_b", b, new Shape(o), like);
        lambdaD = ParameterValues.weight(ctx.manager(), "vera_lambda_d", d, new Shape(rank), like);
    }

    /** The shared projections this layer reads. */
    VeraProjection projection() {
        return projection;
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("vera_lambda_b", lambdaB);
        m.put("vera_lambda_d", lambdaD);
        return m;
    }

    @Override
    public boolean readsBaseWeight() {
        return false;
    }

    /** A_s [r, in] and B_s [out, r], views of the shared pair, in {@code scope}. */
    private NDArray[] slices(NDArray a, NDArray b, NDManager scope) {
        NDArray as = a.get(new NDIndex(":, :{}", in));
        as.attach(scope);
        NDArray bs = b.get(new NDIndex(":{}", out));
        bs.attach(scope);
        return new NDArray[] {as, bs};
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        NDManager scope = input.getManager();
        NDArray[] ab = slices(
                store.getValue(projection.a(), input.getDevice(), training),
                store.getValue(projection.b(), input.getDevice(), training),
                scope);
        NDArray ld = store.getValue(lambdaD, input.getDevice(), training);
        NDArray lb = store.getValue(lambdaB, input.getDevice(), training);
        NDArray x = Dropouts.apply(input, dropout, training);
        NDArray h = Linear.linear(x, ab[0], null).singletonOrThrow().mul(ld);
        NDArray y = Linear.linear(h, ab[1], null).singletonOrThrow().mul(lb);
        return baseOutput.add(y);
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        throw new UnsupportedOperationException("VeRA runs on the activation path only ('" + layer.path() + "')");
    }

    @Override
    public NDArray deltaWeight(NDManager manager) {
        try (NDManager s = manager.newSubManager()) {
            NDArray[] ab = slices(projection.a().getArray(), projection.b().getArray(), s);
            NDArray lb = lambdaB.getArray().stopGradient();
            lb.attach(s);
            NDArray ld = lambdaD.getArray().stopGradient();
            ld.attach(s);
            NDArray left = lb.expandDims(1).mul(ab[1]);
            NDArray right = ld.expandDims(1).mul(ab[0]);
            NDArray d = left.matMul(right);
            d.attach(manager);
            return d;
        }
    }

    @Override
    public String describe() {
        return "VeRA rank " + rank + ": λ_b [" + out + "], λ_d [" + rank + "] over shared projections [" + rank + ", "
                + projection.maxIn() + "], [" + projection.maxOut() + ", " + rank + "]";
    }

    @Override
    public void close() {
        lambdaB.close();
        lambdaD.close();
        projection.close();
    }
}
