package io.github.peft4j.core.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import io.github.peft4j.core.Scalars;
import java.util.SplittableRandom;

/**
 * Inverted dropout, the one entry every peft4j block uses: libtorch's {@code dropout} op, or, inside a
 * {@link RowKeys} scope (a data-parallel training step), a mask drawn row by row from a seed of the row's place in
 * the global batch, so that a batch split over replicas draws the masks one process would.
 */
public final class Dropouts {

    private Dropouts() {}

    /**
     * Applies dropout while training.
     *
     * @param x the activations, batch-major
     * @param rate the probability of dropping an element
     * @param training whether this is a training pass (otherwise {@code x} is returned)
     * @return {@code x}, or {@code x ⊙ mask / (1 − rate)}
     * @throws IllegalStateException if a {@link RowKeys} scope is open for another number of rows than {@code x} has
     */
    public static NDArray apply(NDArray x, double rate, boolean training) {
        if (!training || rate <= 0) {
            return x;
        }
        RowKeys keys = RowKeys.current();
        if (keys == null) {
            return Dropout.dropout(x, (float) rate, true).singletonOrThrow();
        }
        return keyed(x, rate, keys);
    }

    private static NDArray keyed(NDArray x, double rate, RowKeys keys) {
        long[] rows = keys.rows();
        Shape shape = x.getShape();
        if (shape.dimension() == 0 || shape.get(0) != rows.length) {
            throw new IllegalStateException("row-keyed dropout: the scope holds keys for " + rows.length
                    + " rows, but the activations have shape " + shape + " (the batch must be the first axis)");
        }
        int call = keys.nextCall();
        Shape rowShape = new Shape(1).addAll(shape.slice(1));
        NDList masks = new NDList(rows.length);
        for (long row : rows) {
            Engine.getInstance().setRandomSeed(seed(keys.seed(), row, call));
            masks.add(x.getManager().randomUniform(0f, 1f, rowShape, DataType.FLOAT32, x.getDevice()));
        }
        NDArray u = masks.size() == 1 ? masks.get(0) : NDArrays.concat(masks, 0);
        NDArray keep = u.gte(rate).toType(x.getDataType(), false);
        return Scalars.div(x.mul(keep), 1 - rate);
    }

    /** A seed of (scope seed, row, call), spread by SplitMix64 so that neighbouring rows draw unrelated masks. */
    static int seed(long scope, long row, int call) {
        return new SplittableRandom(
                        scope * 0xD1B54A32D192ED03L + row * 0x9E3779B97F4A7C15L + call * 0xBF58476D1CE4E5B9L)
                .nextInt();
    }
}
