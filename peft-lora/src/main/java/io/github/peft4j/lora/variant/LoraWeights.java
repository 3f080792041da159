package io.github.peft4j.lora.variant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.TargetLayer;

/**
 * What every LoRA variant works on: the adapted layer, A [r, in], B [out, r] and the scaling s.
 *
 * @param target the adapted layer
 * @param a A
 * @param b B
 * @param scaling s (alpha / r, or alpha / √r with rsLoRA)
 */
public record LoraWeights(TargetLayer target, Parameter a, Parameter b, double scaling) {

    /**
     * Returns the unscaled low-rank path {@code B (A x)}, never forming BA.
     *
     * @param x the input [..., in]
     * @param a A's value [r, in]
     * @param b B's value [out, r]
     * @return B A x [..., out]
     */
    public static NDArray lowRank(NDArray x, NDArray a, NDArray b) {
        return Linear.linear(Linear.linear(x, a).singletonOrThrow(), b).singletonOrThrow();
    }

    /**
     * Returns s·BA without gradient.
     *
     * @param manager owns the result
     * @return s·BA [out, in]
     */
    public NDArray scaledProduct(NDManager manager) {
        try (NDArray av = a.getArray().stopGradient();
                NDArray bv = b.getArray().stopGradient();
                NDArray ba = bv.matMul(av)) {
            NDArray d = Scalars.mul(ba, scaling);
            d.attach(manager);
            return d;
        }
    }
}
