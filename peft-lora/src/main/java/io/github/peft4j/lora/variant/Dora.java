package io.github.peft4j.lora.variant;

import ai.djl.ndarray.NDArray;
import io.github.peft4j.core.Scalars;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.MergeChecks;
import io.github.peft4j.core.TargetLayer;

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
public final class Dora {

    private final TargetLayer layer;
    private final Parameter magnitude;
    private NDArray mergedNorm;

    /**
     * Creates the magnitude of a layer.
     *
     * @param layer the target layer
     * @param a the initial A [r, in]
     * @param b the initial B [out, r]
     * @param scaling s
     * @param manager owns the magnitude
     */
    public Dora(TargetLayer layer, NDArray a, NDArray b, double scaling, NDManager manager) {
        this.layer = layer;
        try (NDManager tmp = manager.newSubManager()) {
            NDArray w = layer.weight().getArray().stopGradient();
            w.attach(tmp);
            NDArray ba = b.matMul(a);
            ba.attach(tmp);
            NDArray norm = Scalars.mul(ba, scaling).add(w).norm(new int[] {1});
            norm.attach(manager);
            magnitude = Parameter.builder().setName("lora_magnitude_vector").setType(Parameter.Type.WEIGHT)
                    .optArray(norm).build();
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

    /** m/n for the current weights, with n detached; everything in {@code scope}. */
    private NDArray scale(NDArray w, NDArray ba, double scaling, NDArray m, NDManager scope) {
        NDArray n = Scalars.mul(ba, scaling).add(w).norm(new int[] {1});
        n.attach(scope);
        NDArray detached = n.stopGradient();
        detached.attach(scope);
        return m.div(detached);
    }

    private NDArray ba(NDArray a, NDArray b, NDManager scope) {
        NDArray ba = b.matMul(a);
        ba.attach(scope);
        return ba;
    }

    /**
     * Activation path.
     *
     * @param store the parameter store
     * @param x the layer input (dropout already applied when training with dropout)
     * @param dropped whether {@code x} differs from the input the base output was computed on
     * @param baseOutput the base layer's output W x + b
     * @param loraOut B A x′ (not scaled)
     * @param a A
     * @param b B
     * @param scaling s
     * @param training whether training
     * @return the adapted output
     */
    public NDArray forward(ParameterStore store, NDArray x, boolean dropped, NDArray baseOutput, NDArray loraOut,
            NDArray a, NDArray b, double scaling, boolean training) {
        NDManager scope = x.getManager();
        NDArray w = store.getValue(layer.weight(), x.getDevice(), training);
        NDArray m = store.getValue(magnitude, x.getDevice(), training);
        NDArray scale = scale(w, ba(a, b, scope), scaling, m, scope);
        NDArray wx;
        if (dropped) {
            wx = Linear.linear(x, w).singletonOrThrow();
        } else if (layer.bias() != null) {
            wx = baseOutput.sub(store.getValue(layer.bias(), x.getDevice(), training));
        } else {
            wx = baseOutput;
        }
        return baseOutput.add(wx.mul(Scalars.sub(scale, 1))).add(Scalars.mul(loraOut, scaling).mul(scale));
    }

    /**
     * Weight path: (m/n) ⊙ (W + s·BA).
     *
     * @param store the parameter store
     * @param w the base weight
     * @param a A
     * @param b B
     * @param scaling s
     * @param scope owns temporaries
     * @param training whether training
     * @return the effective weight
     */
    public NDArray adaptWeight(ParameterStore store, NDArray w, NDArray a, NDArray b, double scaling,
            NDManager scope, boolean training) {
        NDArray m = store.getValue(magnitude, w.getDevice(), training);
        NDArray ba = ba(a, b, scope);
        NDArray scale = scale(w, ba, scaling, m, scope);
        return Scalars.mul(ba, scaling).add(w).mul(scale.expandDims(1));
    }

    /**
     * Merges: W ← (m/n) ⊙ (W + s·BA), keeping n to unmerge.
     *
     * @param weight the base weight, modified in place
     * @param a A (no gradient)
     * @param b B (no gradient)
     * @param scaling s
     */
    public void merge(NDArray weight, NDArray a, NDArray b, double scaling) {
        try (NDManager scope = weight.getManager().newSubManager(); NDArray w = weight.stopGradient();
                NDArray m = magnitude.getArray().stopGradient()) {
            NDArray wp = Scalars.mul(ba(a, b, scope), scaling).add(w);
            NDArray n = wp.norm(new int[] {1});
            NDArray merged = wp.mul(m.div(n).expandDims(1));
            MergeChecks.requireFinite(merged, "DoRA merged weight");
            w.set(new ai.djl.ndarray.index.NDIndex("..."), merged);
            if (mergedNorm != null) {
                mergedNorm.close();
            }
            mergedNorm = n.duplicate();
            mergedNorm.attach(magnitude.getArray().getManager());
        }
    }

    /**
     * Unmerges: W = W_merged ⊙ (n/m) − s·BA with the n of the merge.
     *
     * @param weight the merged weight, modified in place
     * @param a A (no gradient)
     * @param b B (no gradient)
     * @param scaling s
     */
    public void unmerge(NDArray weight, NDArray a, NDArray b, double scaling) {
        if (mergedNorm == null) {
            throw new IllegalStateException("DoRA layer '" + layer.path() + "' was not merged");
        }
        try (NDManager scope = weight.getManager().newSubManager(); NDArray w = weight.stopGradient();
                NDArray m = magnitude.getArray().stopGradient()) {
            NDArray ratio = mergedNorm.div(m);
            ratio.attach(scope);
            NDArray restored = ratio.expandDims(1).mul(w).sub(Scalars.mul(ba(a, b, scope), scaling));
            w.set(new ai.djl.ndarray.index.NDIndex("..."), restored);
        }
        mergedNorm.close();
        mergedNorm = null;
    }

    /** Releases the magnitude. */
    public void close() {
        magnitude.close();
        if (mergedNorm != null) {
            mergedNorm.close();
        }
    }
}
