package io.github.peft4j.lora.variant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.MergeChecks;
import io.github.peft4j.core.Scalars;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DoRA (weight-decomposed low-rank adaptation, Liu et al., 2024, https://arxiv.org/abs/2402.09353): a variant of LoRA
 * that keeps a trainable magnitude m [out] and applies the LoRA update to the direction:
 *
 * <pre>
 * n = ‖W + s·BA‖ per output row, detached (no gradient flows through the norm)
 * y = W x + b + (m/n − 1) ⊙ (W x′) + (m/n) ⊙ (s · B A x′)      x′ = dropout(x) in training, else x
 * merged: W ← (m/n) ⊙ (W + s·BA)                                 unmerge: W = W_merged ⊙ (n/m) − s·BA
 * </pre>
 *
 * <p>m starts at the row norms of W + s·BA, so the adapted model equals the base model at init whatever B is (as in
 * Python PEFT). Saved as {@code lora_magnitude_vector} (no {@code .weight} suffix, as Python writes it).
 */
public final class Dora implements LoraVariant {

    /** The magnitude's name in the adapter file. */
    public static final String MAGNITUDE = "lora_magnitude_vector";

    private final LoraWeights w;
    private final Parameter magnitude;
    private NDArray mergedNorm;

    /**
     * Creates the magnitude of a layer from its current A and B.
     *
     * @param weights the layer's A, B and scaling
     * @param manager owns the magnitude
     */
    public Dora(LoraWeights weights, NDManager manager) {
        this.w = weights;
        try (NDManager tmp = manager.newSubManager()) {
            NDArray base = weights.target().weight().getArray().stopGradient();
            base.attach(tmp);
            NDArray norm = weights.scaledProduct(tmp).add(base).norm(new int[] {1});
            norm.attach(manager);
            magnitude = Parameter.builder()
                    .setName(MAGNITUDE)
                    .setType(Parameter.Type.WEIGHT)
                    .optArray(norm)
                    .build();
        }
    }

    /**
     * Returns the magnitude m [out].
     *
     * @return the parameter
     */
    public Parameter getMagnitude() {
        return magnitude;
    }

    @Override
    public Map<String, Parameter> parameters() {
        return Map.of(MAGNITUDE, magnitude);
    }

    /** m/n for the current weights, with n detached; everything in {@code scope}. */
    private NDArray scale(NDArray weight, NDArray ba, NDArray m, NDManager scope) {
        NDArray n = Scalars.mul(ba, w.scaling()).add(weight).norm(new int[] {1});
        n.attach(scope);
        NDArray detached = n.stopGradient();
        detached.attach(scope);
        return m.div(detached);
    }

    private static NDArray product(NDArray a, NDArray b, NDManager scope) {
        NDArray ba = b.matMul(a);
        ba.attach(scope);
        return ba;
    }

    @Override
    public NDArray forward(
            ParameterStore store,
            NDArray input,
            NDArray dropped,
            NDArray baseOutput,
            NDArray a,
            NDArray b,
            boolean training) {
        NDManager scope = input.getManager();
        NDArray weight = store.getValue(w.target().weight(), input.getDevice(), training);
        NDArray m = store.getValue(magnitude, input.getDevice(), training);
        NDArray scale = scale(weight, product(a, b, scope), m, scope);
        // (m/n) ⊙ s·B A x′ with m/n and s folded into B's rows ([out, r]) instead of two passes over [tokens, out]
        NDArray update = LoraWeights.lowRank(
                dropped, a, b.mul(Scalars.mul(scale, w.scaling()).expandDims(1)));
        if (dropped != input) {
            NDArray wx = Linear.linear(dropped, weight).singletonOrThrow();
            return baseOutput.add(wx.mul(Scalars.sub(scale, 1))).add(update);
        }
        // without dropout W x′ is the base output less the bias, and
        // base + (m/n − 1) ⊙ (base − bias) = (m/n) ⊙ base + (1 − m/n) ⊙ bias: one pass over [tokens, out], not three
        NDArray y = baseOutput.mul(scale).add(update);
        if (w.target().bias() != null) {
            NDArray bias = store.getValue(w.target().bias(), input.getDevice(), training);
            y = y.add(bias.sub(bias.mul(scale)));
        }
        return y;
    }

    @Override
    public NDArray adaptWeight(
            ParameterStore store, NDArray weight, NDArray a, NDArray b, NDManager scope, boolean training) {
        NDArray m = store.getValue(magnitude, weight.getDevice(), training);
        NDArray ba = product(a, b, scope);
        NDArray scale = scale(weight, ba, m, scope);
        return Scalars.mul(ba, w.scaling()).add(weight).mul(scale.expandDims(1));
    }

    /** (m/n) ⊙ (W + s·BA) − W relative to the current base weight. */
    @Override
    public NDArray deltaWeight(NDManager manager) {
        try (NDArray weight = w.target().weight().getArray().stopGradient();
                NDArray m = magnitude.getArray().stopGradient();
                NDManager tmp = manager.newSubManager()) {
            NDArray wp = w.scaledProduct(tmp).add(weight);
            NDArray scale = m.div(wp.norm(new int[] {1})).expandDims(1);
            NDArray d = wp.mul(scale).sub(weight);
            d.attach(manager);
            return d;
        }
    }

    /** W ← (m/n) ⊙ (W + s·BA), keeping n to unmerge. */
    @Override
    public void merge(NDArray weight) {
        try (NDManager scope = weight.getManager().newSubManager();
                NDArray base = weight.stopGradient();
                NDArray m = magnitude.getArray().stopGradient()) {
            NDArray wp = w.scaledProduct(scope).add(base);
            NDArray n = wp.norm(new int[] {1});
            NDArray merged = wp.mul(m.div(n).expandDims(1));
            MergeChecks.requireFinite(merged, "DoRA merged weight");
            base.set(new NDIndex("..."), merged);
            if (mergedNorm != null) {
                mergedNorm.close();
            }
            mergedNorm = n.duplicate();
            mergedNorm.attach(magnitude.getArray().getManager());
        }
    }

    /** W = W_merged ⊙ (n/m) − s·BA with the n of the merge. */
    @Override
    public void unmerge(NDArray weight) {
        if (mergedNorm == null) {
            throw new IllegalStateException("DoRA layer '" + w.target().path() + "' was not merged");
        }
        try (NDManager scope = weight.getManager().newSubManager();
                NDArray merged = weight.stopGradient();
                NDArray m = magnitude.getArray().stopGradient()) {
            NDArray ratio = mergedNorm.div(m);
            ratio.attach(scope);
            NDArray restored = ratio.expandDims(1).mul(merged).sub(w.scaledProduct(scope));
            merged.set(new NDIndex("..."), restored);
        }
        mergedNorm.close();
        mergedNorm = null;
    }

    @Override
    public Map<String, NDArray> exportTensors(NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        out.put("lora_A.weight", w.a().getArray());
        out.put("lora_B.weight", w.b().getArray());
        out.put(MAGNITUDE, magnitude.getArray());
        return out;
    }

    @Override
    public String describe() {
        return "DoRA";
    }

    @Override
    public void close() {
        magnitude.close();
        if (mergedNorm != null) {
            mergedNorm.close();
        }
    }
}
