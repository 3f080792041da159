package io.github.peft4j.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.github.peft4j.core.Scalars;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fused attention operator against the same function composed of DJL operations: values, gradients (with as many
 * queries as keys, and with fewer as in a cache's step), and dropout.
 */
class AttentionTest {

    private static NDArray paddingMask(NDManager m, DataType type) {
        // batch 2, 6 keys; the second row's last two keys are padding
        float[] blocked = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
        NDArray b = m.create(blocked, new Shape(2, 1, 1, 6)).toType(type, false);
        return Scalars.mul(b, -Float.MAX_VALUE);
    }

    @Test
    void matchesTheComposedFunctionWithAPaddingMask() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(3);
            NDArray q = m.randomNormal(new Shape(2, 3, 5, 4));
            NDArray k = m.randomNormal(new Shape(2, 3, 6, 4));
            NDArray v = m.randomNormal(new Shape(2, 3, 6, 4));
            NDArray mask = paddingMask(m, DataType.FLOAT32);
            NDArray fused = Attention.scaledDotProduct(q, k, v, mask, 0.1, false);
            NDArray composed = Attention.composed(q, k, v, mask, 0);
            assertEquals(new Shape(2, 3, 5, 4), fused.getShape());
            assertTrue(fused.sub(composed).abs().max().getFloat() < 1e-5f, "fused attention differs from composed");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {6, 4})
    void gradientsFlowToQueriesKeysAndValuesAsInTheComposedFunction(int queries) {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(4);
            NDArray q = m.randomNormal(0, 1, new Shape(2, 2, queries, 4), DataType.FLOAT64);
            NDArray k = m.randomNormal(0, 1, new Shape(2, 2, 6, 4), DataType.FLOAT64);
            NDArray v = m.randomNormal(0, 1, new Shape(2, 2, 6, 4), DataType.FLOAT64);
            NDArray mask = paddingMask(m, DataType.FLOAT64);
            NDArray weights = m.randomNormal(0, 1, new Shape(2, 2, queries, 4), DataType.FLOAT64);
            NDArray[] fused = gradients(q, k, v, mask, weights, true);
            NDArray[] composed = gradients(q, k, v, mask, weights, false);
            for (int i = 0; i < 3; i++) {
                double scale = composed[i].abs().max().getDouble();
                assertTrue(scale > 1e-3, "input " + i + " got no gradient from the composed function");
                assertTrue(
                        fused[i].sub(composed[i]).abs().max().getDouble() < 1e-10 * Math.max(1, scale),
                        "gradient of input " + i + " through the fused operator differs");
            }
        }
    }

    private static NDArray[] gradients(NDArray q, NDArray k, NDArray v, NDArray mask, NDArray weights, boolean fused) {
        // fresh leaves for each run, so that gradients do not accumulate across the two
        NDArray[] inputs = {q.duplicate(), k.duplicate(), v.duplicate()};
        for (NDArray x : inputs) {
            x.setRequiresGradient(true);
        }
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray out = fused
                    ? Attention.scaledDotProduct(inputs[0], inputs[1], inputs[2], mask, 0, true)
                    : Attention.composed(inputs[0], inputs[1], inputs[2], mask, 0);
            gc.backward(out.mul(weights).sum());
        }
        NDArray[] grads = new NDArray[3];
        for (int i = 0; i < 3; i++) {
            grads[i] = inputs[i].getGradient();
        }
        return grads;
    }

    @Test
    void dropoutAppliesOnlyWhileTraining() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(5);
            NDArray q = m.randomNormal(new Shape(4, 4, 16, 8));
            NDArray k = m.randomNormal(new Shape(4, 4, 16, 8));
            NDArray v = m.ones(new Shape(4, 4, 16, 8));
            NDArray mask = m.zeros(new Shape(4, 1, 1, 16));
            NDArray eval = Attention.scaledDotProduct(q, k, v, mask, 0.5, false);
            // with v all ones, every output is the sum of a row's kept probabilities / (1 - p): 1 without dropout
            assertTrue(Scalars.sub(eval, 1).abs().max().getFloat() < 1e-5f, "evaluation must not drop");
            NDArray train = Attention.scaledDotProduct(q, k, v, mask, 0.5, true);
            float spread = Scalars.sub(train, 1).abs().max().getFloat();
            assertTrue(spread > 0.05f, "training with p = 0.5 must drop probabilities, spread " + spread);
            float mean = train.mean().getFloat();
            assertTrue(Math.abs(mean - 1) < 0.1f, "dropout must rescale the kept probabilities, mean " + mean);
        }
    }
}
