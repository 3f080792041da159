package io.github.peft4j.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.testing.ManagedTest;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link MixedLinear} with its weight in bf16 against a reference computed here from the bf16-rounded operands: the
 * output and the input's gradient must be the bf16 products (within one bf16 rounding), differ from float32's (the
 * bf16 path really ran), and the gradient must reach the input through the operator's casts.
 */
class MixedLinearTest extends ManagedTest {

    private static final int N = 6;
    private static final int IN = 40;
    private static final int OUT = 24;

    private static float[] random(int n, long seed, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return v;
    }

    private static MixedLinear layer(boolean bias, float[] w, float[] b) {
        MixedLinear l = MixedLinear.of(OUT, bias);
        l.initialize(manager, DataType.FLOAT32, new Shape(1, IN));
        l.getDirectParameters().get("weight").getArray().set(w);
        if (bias) {
            l.getDirectParameters().get("bias").getArray().set(b);
        }
        l.freezeParameters(true);
        return l;
    }

    /** bf16(Σ_k bf16(a[i,k]) · bf16(b[j,k])) for a [n, k] and b [m, k]: the rounded product a bᵀ. */
    private static double[] bf16Product(float[] a, float[] b, int n, int m, int k) {
        double[] out = new double[n * m];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                double s = 0;
                for (int t = 0; t < k; t++) {
                    s += (double) MixedLinear.roundToBf16(a[i * k + t]) * MixedLinear.roundToBf16(b[j * k + t]);
                }
                out[i * m + j] = MixedLinear.roundToBf16((float) s);
            }
        }
        return out;
    }

    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = a[i * cols + j];
            }
        }
        return t;
    }

    /** Within one bf16 rounding of the reference (the GEMM's fp32 sum may round to the neighbouring bf16 value). */
    private static void assertBf16Close(double[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            double tol = Math.abs(expected[i]) * 0x1p-7 + 1e-6;
            assertEquals(expected[i], actual[i], tol, what + "[" + i + "]");
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void outputAndInputGradientAreTheBf16Products(boolean bias) {
        float[] w = random(OUT * IN, 1, 0.5);
        float[] b = random(OUT, 2, 0.5);
        float[] x = random(N * IN, 3, 1);
        float[] g = random(N * OUT, 4, 1);
        MixedLinear fp32 = layer(bias, w, b);
        MixedLinear mixed = layer(bias, w, b);
        mixed.storeWeightInBf16();
        assertTrue(mixed.storesWeightInBf16());

        float[] y32;
        float[] y;
        float[] dx;
        try (NDManager s = manager.newSubManager()) {
            NDArray xs = s.create(x, new Shape(N, IN));
            y32 = fp32.forward(new ParameterStore(s, false), new NDList(xs), false)
                    .singletonOrThrow()
                    .toFloatArray();
            xs.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = mixed.forward(new ParameterStore(s, false), new NDList(xs), true)
                        .singletonOrThrow();
                assertEquals(DataType.FLOAT32, out.getDataType());
                y = out.toFloatArray();
                gc.backward(out.mul(s.create(g, new Shape(N, OUT))).sum());
            }
            assertNotNull(xs.getGradient());
            dx = xs.getGradient().toFloatArray();
        }
        double[] ref = bf16Product(x, w, N, OUT, IN);
        if (bias) {
            for (int i = 0; i < N; i++) {
                for (int j = 0; j < OUT; j++) {
                    ref[i * OUT + j] += b[j];
                }
            }
        }
        assertBf16Close(ref, y, "y");
        double diff = 0;
        for (int i = 0; i < y.length; i++) {
            diff = Math.max(diff, Math.abs(y[i] - y32[i]));
        }
        assertTrue(diff > 1e-4, "the output must be the bf16 product, not float32's (max difference " + diff + ")");
        // dL/dx = bf16(bf16(g) · bf16(W)): the gradient crossed the operator's casts back to float32
        assertBf16Close(bf16Product(g, transpose(w, OUT, IN), N, IN, OUT), dx, "dx");
    }

    @Test
    void storedWeightIsTheBf16RoundingInHalfTheBytes() {
        float[] w = random(OUT * IN, 5, 3);
        MixedLinear l = layer(true, w, random(OUT, 6, 1));
        Parameter p = l.getDirectParameters().get("weight");
        l.storeWeightInBf16();
        assertEquals(DataType.FLOAT16, p.getArray().getDataType());
        assertFalse(p.requiresGradient());
        float[] stored = p.getArray().toType(DataType.FLOAT32, false).toFloatArray();
        for (int i = 0; i < w.length; i++) {
            assertEquals(MixedLinear.roundToBf16(w[i]), stored[i], 0.0, "w[" + i + "]");
        }
    }

    @Test
    void roundsToNearestEven() {
        // 1 + 2^-8 lies halfway between bf16's 1 and 1 + 2^-7: ties go to the even mantissa (1)
        assertEquals(1f, MixedLinear.roundToBf16(1f + 0x1p-8f), 0f);
        // 1 + 3·2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: the even one is 1 + 2^-6
        assertEquals(1f + 0x1p-6f, MixedLinear.roundToBf16(1f + 3 * 0x1p-8f), 0f);
        assertEquals(1f + 0x1p-7f, MixedLinear.roundToBf16(1f + 0x1p-7f + 0x1p-10f), 0f);
        assertEquals(-2.5f, MixedLinear.roundToBf16(-2.5f), 0f);
        assertTrue(Float.isNaN(MixedLinear.roundToBf16(Float.NaN)));
    }

    @Test
    void refusesTrainableAndOutOfRangeWeights() {
        MixedLinear trainable = MixedLinear.of(OUT, false);
        trainable.initialize(manager, DataType.FLOAT32, new Shape(1, IN));
        IllegalStateException e = assertThrows(IllegalStateException.class, trainable::storeWeightInBf16);
        assertTrue(e.getMessage().contains("must be frozen"), e.getMessage());

        float[] w = random(OUT * IN, 7, 1);
        w[17] = 1e5f;
        MixedLinear big = layer(false, w, null);
        e = assertThrows(IllegalStateException.class, big::storeWeightInBf16);
        assertTrue(e.getMessage().contains("entry 17") && e.getMessage().contains("65504"), e.getMessage());
        assertEquals(
                DataType.FLOAT32,
                big.getDirectParameters().get("weight").getArray().getDataType());
    }
}
