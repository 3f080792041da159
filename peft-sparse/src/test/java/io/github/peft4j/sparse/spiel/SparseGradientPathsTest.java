package io.github.peft4j.sparse.spiel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.TargetLayer;
import io.github.peft4j.sparse.GradientMode;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * One sparse layer by itself, with and without a bias, at densities that run the streaming and the token-blocked
 * kernels: the values' gradient and the input's gradient of the SDDMM path (probe on the output, kernel reading
 * libtorch's memory in place) equal autograd's through {@code put}.
 */
class SparseGradientPathsTest {

    record Grads(float[] values, float[] input, float[] output, float[] bias) {}

    static float[] gaussian(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    static Grads run(GradientMode mode, boolean bias, boolean trainableBias, int nnz, long seed) {
        int n = 70; // two token blocks of the kernel, the second one partial
        int out = 24;
        int in = 40;
        Random r = new Random(seed);
        try (NDManager m = NDManager.newBaseManager()) {
            Parameter w = Parameter.builder()
                    .setName("weight")
                    .setType(Parameter.Type.WEIGHT)
                    .optRequiresGrad(false)
                    .optArray(m.create(gaussian(r, out * in), new Shape(out, in)))
                    .build();
            Parameter b = bias
                    ? Parameter.builder()
                            .setName("bias")
                            .setType(Parameter.Type.BIAS)
                            .optRequiresGrad(false)
                            .optArray(m.create(gaussian(r, out), new Shape(out)))
                            .build()
                    : null;
            if (trainableBias) {
                b.getArray().setRequiresGradient(true); // then added after the GEMM, the probe being a zero
            }
            int[] pos = r.ints(0, out * in).distinct().limit(nnz).sorted().toArray();
            TargetLayer t = new TargetLayer("layer", null, w, b, in, out);
            SpielLayer layer = new SpielLayer(t, pos, mode, m, seed);
            float[] v = new float[nnz];
            for (int k = 0; k < nnz; k++) {
                v[k] = (float) r.nextGaussian();
            }
            layer.setValues(v);
            layer.getValues().getArray().setRequiresGradient(true);
            float[] xs = new float[n * in];
            float[] weights = new float[n * out];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < weights.length; i++) {
                weights[i] = (float) r.nextGaussian();
            }
            try (NDManager s = m.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray x = s.create(xs, new Shape(n, in));
                x.setRequiresGradient(true);
                NDArray y = layer.forward(new ParameterStore(s, false), x, null, true);
                gc.backward(y.mul(s.create(weights, new Shape(n, out))).sum());
                layer.afterBackward();
                return new Grads(
                        layer.getValues().getArray().getGradient().toFloatArray(),
                        x.getGradient().toFloatArray(),
                        y.toFloatArray(),
                        trainableBias ? b.getArray().getGradient().toFloatArray() : null);
            }
        }
    }

    static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        double scale = 1e-30;
        double diff = 0;
        for (int i = 0; i < want.length; i++) {
            scale = Math.max(scale, Math.abs(want[i]));
            diff = Math.max(diff, Math.abs(want[i] - got[i]));
        }
        assertTrue(scale > 1e-3, what + ": all zero");
        assertTrue(diff <= 1e-5 * Math.max(1, scale), what + " differs by " + diff + " (scale " + scale + ")");
    }

    @ParameterizedTest
    @CsvSource({
        "true, false, 3",
        "false, false, 3",
        "true, false, 200",
        "false, false, 200",
        "true, true, 3",
        "true, true, 200"
    })
    void sddmmEqualsAutogradThroughPut(boolean bias, boolean trainableBias, int nnz) {
        // 3 entries: the streaming kernel (nnz < 0.1 · (out + in)); 200: the token-blocked one. A frozen bias is
        // the probe itself; with none or a trainable one the probe is a zero (the trainable bias added after)
        Grads dense = run(GradientMode.DENSE, bias, trainableBias, nnz, 7);
        Grads sddmm = run(GradientMode.SDDMM, bias, trainableBias, nnz, 7);
        String what = (bias ? (trainableBias ? "with trainable" : "with") : "without") + " bias, " + nnz + " entries";
        assertClose(dense.output(), sddmm.output(), what + ": output");
        assertClose(dense.values(), sddmm.values(), what + ": values' gradient");
        assertClose(dense.input(), sddmm.input(), what + ": input's gradient");
        if (trainableBias) {
            assertClose(dense.bias(), sddmm.bias(), what + ": the bias's gradient");
        }
    }

    @org.junit.jupiter.api.Test
    void sddmmOnAFloat64WeightIsRefusedWithTheWayOut() {
        try (NDManager m = NDManager.newBaseManager()) {
            Parameter w = Parameter.builder()
                    .setName("weight")
                    .setType(Parameter.Type.WEIGHT)
                    .optArray(m.zeros(new Shape(4, 5), DataType.FLOAT64))
                    .build();
            TargetLayer t = new TargetLayer("enc.q", null, w, null, 5, 4);
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> new SpielLayer(t, new int[] {1, 2}, GradientMode.SDDMM, m, 1));
            assertTrue(e.getMessage().contains("'enc.q' holds float64 weights"), e.getMessage());
            assertTrue(e.getMessage().contains("GradientMode.DENSE"), e.getMessage());
            assertEquals(
                    GradientMode.DENSE, new SpielLayer(t, new int[] {1, 2}, GradientMode.AUTO, m, 1).getGradientMode());
        }
    }
}
