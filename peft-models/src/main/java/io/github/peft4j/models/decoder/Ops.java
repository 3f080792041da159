package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.nn.Attention;
import io.github.peft4j.core.nn.Dropouts;

/** The tensor operations the decoder blocks share: activations, dropout, masks and attention. */
final class Ops {

    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

    private Ops() {}

    static NDArray call(Block b, ParameterStore ps, boolean training, PairList<String, Object> params, NDArray x) {
        return b.forward(ps, new NDList(x), training, params).singletonOrThrow();
    }

    static NDArray dropout(NDArray x, double rate, boolean training) {
        return Dropouts.apply(x, rate, training);
    }

    /** Applies a Hugging Face activation by its {@code hidden_act} name. */
    static NDArray activation(String name, NDArray x) {
        return switch (name) {
            case "silu", "swish" -> x.mul(Activation.sigmoid(x));
            case "gelu" -> Activation.gelu(x);
            case "gelu_new", "gelu_pytorch_tanh" -> {
                // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
                NDArray inner = Scalars.mul(x.add(Scalars.mul(x.pow(Scalars.of(x, 3)), 0.044715)), SQRT_2_OVER_PI);
                yield Scalars.mul(x.mul(Scalars.add(inner.tanh(), 1)), 0.5);
            }
            default -> throw new IllegalArgumentException("unsupported activation '" + name + "'");
        };
    }

    /**
     * The additive attention mask: 0 where query i (at position past + i) may attend key j, the float32 minimum
     * elsewhere (causal, padding, and the sliding window if any).
     *
     * @param attentionMask 1 for tokens, 0 for padding, [batch, past + seq]
     * @param past the number of cached positions
     * @param seq the number of new positions
     * @param window the sliding window (0: none)
     * @param type the data type of the model's activations
     * @return [batch, 1, seq, past + seq]
     */
    static NDArray additiveMask(NDArray attentionMask, long past, long seq, int window, DataType type) {
        var m = attentionMask.getManager();
        long total = past + seq;
        NDArray keys = m.arange(0, Math.toIntExact(total), 1, DataType.INT64).reshape(1, 1, 1, total);
        NDArray queries = m.arange(Math.toIntExact(past), Math.toIntExact(total), 1, DataType.INT64)
                .reshape(1, 1, seq, 1);
        NDArray allowed = keys.lte(queries);
        if (window > 0) {
            allowed = allowed.logicalAnd(queries.sub(keys).lt(Scalars.of(queries, window)));
        }
        Shape s = attentionMask.getShape();
        NDArray tokens = attentionMask.toType(DataType.BOOLEAN, false).reshape(s.get(0), 1, 1, s.get(1));
        allowed = allowed.logicalAnd(tokens);
        NDArray blocked = allowed.logicalNot().toType(type, false);
        return Scalars.mul(blocked, type == DataType.FLOAT64 ? -Double.MAX_VALUE : -Float.MAX_VALUE);
    }

    /** Repeats each key/value head {@code groups} times: [b, kv, t, d] to [b, kv·groups, t, d]. */
    static NDArray repeatKv(NDArray x, int groups) {
        if (groups == 1) {
            return x;
        }
        Shape s = x.getShape();
        return x.expandDims(2)
                .broadcast(new Shape(s.get(0), s.get(1), groups, s.get(2), s.get(3)))
                .reshape(s.get(0), s.get(1) * groups, s.get(2), s.get(3));
    }

    /**
     * Scaled dot-product attention with an additive mask.
     *
     * @param q [b, h, s, d]
     * @param k [b, h, t, d]
     * @param v [b, h, t, d]
     * @param mask [b, 1, s, t]
     * @param dropout the probability dropout while training
     * @param training whether training
     * @return [b, s, h·d]
     */
    static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray mask, double dropout, boolean training) {
        NDArray ctx =
                Attention.scaledDotProduct(q, k, v, mask, dropout, training).transpose(0, 2, 1, 3);
        Shape s = ctx.getShape();
        return ctx.reshape(s.get(0), s.get(1), s.get(2) * s.get(3));
    }
}
