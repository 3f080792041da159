package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.util.PairList;

/**
 * A forward pass's inputs completed with their defaults: the additive mask and the position ids.
 *
 * @param ids input_ids [b, s]
 * @param mask the additive mask [b, 1, s, past + s], in the model's data type
 * @param positions position ids [b, s]
 * @param past the number of cached positions
 */
record Inputs(NDArray ids, NDArray mask, NDArray positions, long past) {

    static Inputs of(NDList in, PairList<String, Object> params, DecoderConfig config, DataType type) {
        if (in.isEmpty()) {
            throw new IllegalArgumentException(
                    "a causal language model takes (input_ids[, attention_mask[," + " position_ids]]); got no input");
        }
        NDArray ids = in.get(0);
        if (ids.getShape().dimension() != 2) {
            throw new IllegalArgumentException("input_ids must be [batch, seq]; got " + ids.getShape());
        }
        KvCache cache = params == null ? null : (KvCache) params.get(KvCache.PARAM);
        long past = cache == null ? 0 : cache.length();
        long b = ids.getShape().get(0);
        long s = ids.getShape().get(1);
        NDManager m = ids.getManager();
        NDArray attention = in.size() > 1 ? in.get(1) : m.ones(new Shape(b, past + s), DataType.INT64);
        if (!attention.getShape().equals(new Shape(b, past + s))) {
            throw new IllegalArgumentException("attention_mask must be [batch, past + seq] = " + new Shape(b, past + s)
                    + "; got " + attention.getShape());
        }
        NDArray positions = in.size() > 2
                ? in.get(2)
                : m.arange(Math.toIntExact(past), Math.toIntExact(past + s), 1, DataType.INT64)
                        .reshape(1, s)
                        .repeat(0, b);
        if (config.rope() == null && past + s > config.maxPositions()) {
            throw new IllegalArgumentException("the sequence reaches position " + (past + s) + " but "
                    + config.family().architecture() + " has " + config.maxPositions() + " learned positions"
                    + " (n_positions); shorten the input");
        }
        NDArray mask = Ops.additiveMask(attention, past, s, config.slidingWindow(), type);
        return new Inputs(ids, mask, positions, past);
    }
}
