package io.github.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import io.github.peft4j.core.Scalars;

/**
 * Scaled dot-product attention, {@code softmax(q kᵀ / sqrt(d) + mask) v} with dropout on the probabilities, run by
 * libtorch's {@code scaled_dot_product_attention} (a fused kernel where libtorch has one: on CPU without dropout, that
 * is in evaluation and generation) instead of four DJL operations that each materialise a [batch, heads, q, k]
 * tensor. Arrays of another engine take the composed path, which computes the same function; so does a training pass
 * with dropout inside a {@link RowKeys} scope, whose masks {@link Dropouts} draws row by row.
 */
public final class Attention {

    private static final ScriptedOp SDPA = new ScriptedOp("attention.pt");

    private Attention() {}

    /**
     * Attention over heads.
     *
     * @param q queries [batch, heads, q, d]
     * @param k keys [batch, heads, k, d]
     * @param v values [batch, heads, k, d]
     * @param mask an additive mask of q's data type that broadcasts to [batch, heads, q, k] (0 where attending, a
     *     large negative number where not)
     * @param dropout the dropout probability on the attention probabilities while training
     * @param training whether training (dropout applies, autograd records)
     * @return [batch, heads, q, d]
     */
    public static NDArray scaledDotProduct(
            NDArray q, NDArray k, NDArray v, NDArray mask, double dropout, boolean training) {
        double p = training ? dropout : 0;
        if (ScriptedOp.available(q) && (p == 0 || RowKeys.current() == null)) {
            return SDPA.apply(training, q, k, v, mask, ScriptedOp.scalar(p));
        }
        return composed(q, k, v, mask, p);
    }

    /**
     * The same function as {@link #scaledDotProduct} in DJL operations, for engines without TorchScript.
     *
     * @param q queries [batch, heads, q, d]
     * @param k keys [batch, heads, k, d]
     * @param v values [batch, heads, k, d]
     * @param mask the additive mask
     * @param dropout the dropout probability to apply (0 for none)
     * @return [batch, heads, q, d]
     */
    static NDArray composed(NDArray q, NDArray k, NDArray v, NDArray mask, double dropout) {
        long d = q.getShape().get(q.getShape().dimension() - 1);
        NDArray scores =
                Scalars.div(q.matMul(k.swapAxes(-1, -2)), Math.sqrt((double) d)).add(mask);
        NDArray probs = scores.softmax(-1);
        if (dropout > 0) {
            probs = Dropouts.apply(probs, dropout, true);
        }
        return probs.matMul(v);
    }
}
