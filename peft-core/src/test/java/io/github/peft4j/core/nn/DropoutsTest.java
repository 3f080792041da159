package io.github.peft4j.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

/**
 * Row-keyed dropout: a batch split over scopes draws the masks the whole batch draws (what makes data-parallel
 * replicas compute what one process computes), masks drop the asked share and differ between rows, the gradient is
 * the mask's, and attention's dropout follows the same keys.
 */
class DropoutsTest {

    private static NDArray keyed(NDArray x, double rate, long seed, long... rows) {
        try (RowKeys keys = RowKeys.open(seed, rows)) {
            NDArray first = Dropouts.apply(x, rate, true);
            NDArray second = Dropouts.apply(x, rate, true); // a second layer's call: another mask
            return NDArrays.stack(new ai.djl.ndarray.NDList(first, second));
        }
    }

    @Test
    void aBatchSplitInTwoScopesDrawsTheWholeBatchsMasks() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.ones(new Shape(4, 3, 6));
            NDArray whole = keyed(x, 0.3, 7, 0, 1, 2, 3);
            NDArray head = keyed(x.get("0:2"), 0.3, 7, 0, 1);
            NDArray tail = keyed(x.get("2:4"), 0.3, 7, 2, 3);
            NDArray split = head.concat(tail, 1);
            assertEquals(0f, whole.sub(split).abs().max().getFloat());
            // the two calls drew different masks, and so did different rows and another seed
            assertTrue(whole.get(0).sub(whole.get(1)).abs().max().getFloat() > 0, "both calls drew one mask");
            assertTrue(whole.get("0, 0").sub(whole.get("0, 1")).abs().max().getFloat() > 0, "rows share a mask");
            assertTrue(keyed(x, 0.3, 8, 0, 1, 2, 3).sub(whole).abs().max().getFloat() > 0, "the seed is ignored");
        }
    }

    @Test
    void dropsTheAskedShareAndScalesTheRest() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.ones(new Shape(64, 200));
            NDArray y;
            try (RowKeys keys =
                    RowKeys.open(3, java.util.stream.LongStream.range(0, 64).toArray())) {
                y = Dropouts.apply(x, 0.25, true);
            }
            float dropped = y.eq(0)
                    .toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
                    .mean()
                    .getFloat();
            assertTrue(Math.abs(dropped - 0.25f) < 0.02f, "dropped " + dropped);
            NDArray kept = y.get(y.gt(0));
            assertEquals(1 / 0.75f, kept.max().getFloat(), 1e-6f);
            assertEquals(1 / 0.75f, kept.min().getFloat(), 1e-6f);
        }
    }

    @Test
    void theGradientIsTheScaledMask() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(1);
            NDArray x = m.randomNormal(new Shape(3, 5));
            x.setRequiresGradient(true);
            NDArray y;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector();
                    RowKeys keys = RowKeys.open(5, new long[] {0, 1, 2})) {
                y = Dropouts.apply(x, 0.4, true);
                gc.backward(y.sum());
            }
            NDArray mask = y.div(x); // y = x ⊙ mask / (1 − p): the gradient of sum(y) is mask / (1 − p)
            assertTrue(x.getGradient().sub(mask).abs().max().getFloat() < 1e-5f);
        }
    }

    @Test
    void attentionDropoutFollowsTheKeys() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(2);
            NDArray q = m.randomNormal(new Shape(4, 2, 5, 3));
            NDArray k = m.randomNormal(new Shape(4, 2, 5, 3));
            NDArray v = m.randomNormal(new Shape(4, 2, 5, 3));
            NDArray mask = m.zeros(new Shape(4, 1, 1, 5));
            NDArray whole;
            try (RowKeys keys = RowKeys.open(9, new long[] {0, 1, 2, 3})) {
                whole = Attention.scaledDotProduct(q, k, v, mask, 0.5, true);
            }
            NDArray tail;
            try (RowKeys keys = RowKeys.open(9, new long[] {2, 3})) {
                tail = Attention.scaledDotProduct(q.get("2:4"), k.get("2:4"), v.get("2:4"), mask.get("2:4"), 0.5, true);
            }
            assertTrue(whole.get("2:4").sub(tail).abs().max().getFloat() < 1e-6f);
            // and dropout did apply: the evaluation pass differs
            NDArray eval = Attention.scaledDotProduct(q, k, v, mask, 0.5, false);
            assertTrue(whole.sub(eval).abs().max().getFloat() > 1e-3f);
        }
    }

    @Test
    void outsideAScopeOrInEvaluationNothingIsKeyed() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.ones(new Shape(2, 3));
            assertSame(x, Dropouts.apply(x, 0.5, false));
            assertSame(x, Dropouts.apply(x, 0, true));
            assertEquals(null, RowKeys.current());
            try (RowKeys keys = RowKeys.open(1, new long[] {0, 1, 2})) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> Dropouts.apply(x, 0.5, true));
                assertTrue(e.getMessage().contains("keys for 3 rows"), e.getMessage());
            }
            assertEquals(null, RowKeys.current());
        }
    }
}
