package io.github.peft4j.methods.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
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
 * IA³ on one linear layer: {@code ia3_l} of shape [out, 1] scales the output, y ← l ⊙ (x Wᵀ + b); on a feed-forward
 * module, of shape [1, in], it scales the input, y ← (l ⊙ x) Wᵀ + b (Python PEFT's shapes and names). Merge: W ← W ⊙ l
 * (rows, or columns for a feed-forward module) and, for an output scale, b ← b ⊙ l; unmerge divides by l + 1e-8 as
 * Python does.
 */
public final class Ia3Layer implements LayerAdapter {

    private final TargetLayer layer;
    private final boolean feedforward;
    private final Parameter scale;

    Ia3Layer(TargetLayer layer, boolean feedforward, boolean initOnes, AdapterContext ctx) {
        this.layer = layer;
        this.feedforward = feedforward;
        int n = Math.toIntExact(feedforward ? layer.inFeatures() : layer.outFeatures());
        float[] v = new float[n];
        SplittableRandom r = ctx.random(layer.path());
        for (int i = 0; i < n; i++) {
            // Python leaves l at torch.randn when init_ia3_weights is false
            v[i] = initOnes ? 1f : (float) ParameterValues.gaussian(r);
        }
        Shape shape = feedforward ? new Shape(1, n) : new Shape(n, 1);
        scale = Parameter.builder()
                .setName("ia3_l")
                .setType(Parameter.Type.WEIGHT)
                .optArray(ParameterValues.create(
                        ctx.manager(), v, shape, layer.weight().getArray()))
                .build();
    }

    /**
     * Whether this layer scales its input (a feed-forward module) rather than its output.
     *
     * @return true for a feed-forward module
     */
    public boolean isFeedforward() {
        return feedforward;
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("ia3_l", scale);
        return m;
    }

    @Override
    public boolean computesOutput() {
        return feedforward;
    }

    @Override
    public boolean readsBaseWeight() {
        return feedforward;
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        // the reshaped view would belong to the parameter's manager: it goes to the pass's manager instead
        if (!feedforward) {
            NDArray l = store.getValue(scale, baseOutput.getDevice(), training);
            NDArray row = l.reshape(l.getShape().get(0));
            row.attach(baseOutput.getManager());
            return baseOutput.mul(row);
        }
        NDArray l = store.getValue(scale, input.getDevice(), training);
        NDArray row = l.reshape(l.getShape().get(1));
        row.attach(input.getManager());
        NDArray w = store.getValue(layer.weight(), input.getDevice(), training);
        NDArray b = layer.bias() == null ? null : store.getValue(layer.bias(), input.getDevice(), training);
        NDList out = Linear.linear(input.mul(row), w, b);
        return out.singletonOrThrow();
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        throw new UnsupportedOperationException("IA3 runs on the activation path only ('" + layer.path() + "')");
    }

    /**
     * Returns W ⊙ l − W; the bias's scale is not part of the weight (see {@link #merge}).
     *
     * @param manager owns the result
     * @return ΔW
     */
    @Override
    public NDArray deltaWeight(NDManager manager) {
        try (NDArray w = layer.weight().getArray().stopGradient();
                NDArray l = scale.getArray().stopGradient();
                NDArray lm = Scalars.sub(l, 1)) {
            NDArray d = w.mul(lm);
            d.attach(manager);
            return d;
        }
    }

    @Override
    public void merge(NDArray weight) {
        try (NDManager s = weight.getManager().newSubManager();
                NDArray w = weight.stopGradient();
                NDArray l = scale.getArray().stopGradient()) {
            NDArray newW = w.mul(l);
            newW.attach(s);
            MergeChecks.requireFinite(newW, "IA3 merged weight");
            if (!feedforward && layer.bias() != null) {
                try (NDArray bias = layer.bias().getArray().stopGradient();
                        NDArray lb = l.reshape(bias.getShape())) {
                    NDArray newB = bias.mul(lb);
                    newB.attach(s);
                    MergeChecks.requireFinite(newB, "IA3 merged bias");
                    bias.set(new NDIndex("..."), newB);
                }
            }
            w.set(new NDIndex("..."), newW);
        }
    }

    @Override
    public void unmerge(NDArray weight) {
        try (NDManager s = weight.getManager().newSubManager();
                NDArray w = weight.stopGradient();
                NDArray l = scale.getArray().stopGradient()) {
            NDArray safe = Scalars.add(l, 1e-8);
            safe.attach(s);
            NDArray oldW = w.div(safe);
            oldW.attach(s);
            w.set(new NDIndex("..."), oldW);
            if (!feedforward && layer.bias() != null) {
                try (NDArray bias = layer.bias().getArray().stopGradient();
                        NDArray sb = safe.reshape(bias.getShape())) {
                    NDArray oldB = bias.div(sb);
                    oldB.attach(s);
                    bias.set(new NDIndex("..."), oldB);
                }
            }
        }
    }

    @Override
    public String describe() {
        return feedforward
                ? "scale of " + layer.inFeatures() + " input features"
                : "scale of " + layer.outFeatures() + " output features";
    }

    @Override
    public void close() {
        scale.close();
    }
}
