package io.github.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.InjectionMode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.core.testing.TestModels;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Numerical checks of LoRA: gradients, scaling, the two injection paths. */
class LoraLayerTest extends ManagedTest {

    private static Block linear(long in, long out, DataType type) {
        SequentialBlock b =
                new SequentialBlock().add(Linear.builder().setUnits(out).build());
        b.initialize(manager, type, new Shape(1, in));
        TestModels.fill(b, 3);
        return b;
    }

    private static NDArray randn(Shape s, long seed, DataType type) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[Math.toIntExact(s.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextDouble() * 2 - 1;
        }
        return manager.create(v, s).toType(type, false);
    }

    /** Loss = Σ y ⊙ c, so dL/dy = c. */
    private static double loss(PeftModel m, NDArray x, NDArray c) {
        try (NDManager s = manager.newSubManager()) {
            NDArray y = m.forward(new ParameterStore(s, false), new NDList(x), false)
                    .singletonOrThrow();
            return y.mul(c).sum().getDouble();
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = InjectionMode.class,
            names = {"ACTIVATION", "WEIGHT"})
    void gradientsMatchFiniteDifferences(InjectionMode mode) {
        DataType f64 = DataType.FLOAT64;
        Block base = linear(5, 4, f64);
        PeftModel m = PeftModel.builder()
                .setBaseModel(base)
                .optInjectionMode(mode)
                .setConfig(LoraConfig.builder()
                        .setTargetModules("0")
                        .optRank(2)
                        .optAlpha(3)
                        .optInit(LoraInit.RANDOM)
                        .build())
                .build();
        assertEquals(mode, m.getInjectionMode("0"));
        LoraLayer lora = (LoraLayer) m.getLayerAdapter(PeftModel.DEFAULT_ADAPTER, "0");
        NDArray x = randn(new Shape(3, 5), 1, f64);
        NDArray c = randn(new Shape(3, 4), 2, f64);

        double[] gradA;
        double[] gradB;
        try (NDManager s = manager.newSubManager()) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = m.forward(new ParameterStore(s, false), new NDList(x), true)
                        .singletonOrThrow();
                gc.backward(y.mul(c).sum());
            }
            gradA = lora.getLoraA().getArray().getGradient().toDoubleArray();
            gradB = lora.getLoraB().getArray().getGradient().toDoubleArray();
            Parameter w = io.github.peft4j.core.ModuleTree.namedParameters(base).get("0.weight");
            assertFalse(w.requiresGradient(), "base weight must be frozen");
            assertFalse(w.getArray().hasGradient(), "no gradient may be kept for the frozen base weight");
        }
        checkAgainstFiniteDifferences(m, lora.getLoraA(), gradA, x, c);
        checkAgainstFiniteDifferences(m, lora.getLoraB(), gradB, x, c);
    }

    private static void checkAgainstFiniteDifferences(PeftModel m, Parameter p, double[] grad, NDArray x, NDArray c) {
        NDArray arr = p.getArray();
        double h = 1e-6;
        double[] values = arr.toDoubleArray();
        double maxAbs = 0;
        for (double g : grad) {
            maxAbs = Math.max(maxAbs, Math.abs(g));
        }
        assertTrue(maxAbs > 1e-3, "gradient must not vanish");
        for (int i = 0; i < values.length; i++) {
            double orig = values[i];
            set(arr, values, i, orig + h);
            double up = loss(m, x, c);
            set(arr, values, i, orig - h);
            double down = loss(m, x, c);
            set(arr, values, i, orig);
            double fd = (up - down) / (2 * h);
            assertEquals(fd, grad[i], 1e-7 * Math.max(1, Math.abs(fd)), p.getName() + "[" + i + "]");
        }
    }

    private static void set(NDArray arr, double[] values, int i, double v) {
        values[i] = v;
        try (NDArray view = arr.stopGradient();
                NDArray src = arr.getManager().create(values, arr.getShape())) {
            view.set(new NDIndex("..."), src);
        }
    }

    @Test
    void activationAndWeightPathsAgree() {
        LoraConfig cfg = LoraConfig.builder()
                .setTargetModules("all-linear")
                .optRank(3)
                .optAlpha(5)
                .optInit(LoraInit.RANDOM)
                .build();
        PeftModel act = PeftModel.builder()
                .setBaseModel(TestModels.mlp(manager, 4, DataType.FLOAT32))
                .setConfig(cfg)
                .optInjectionMode(InjectionMode.ACTIVATION)
                .build();
        PeftModel wt = PeftModel.builder()
                .setBaseModel(TestModels.mlp(manager, 4, DataType.FLOAT32))
                .setConfig(cfg)
                .optInjectionMode(InjectionMode.WEIGHT)
                .build();
        NDArray x = randn(new Shape(7, 8), 5, DataType.FLOAT32);
        try (NDManager s = manager.newSubManager()) {
            NDArray a = act.forward(new ParameterStore(s, false), new NDList(x), false)
                    .singletonOrThrow();
            NDArray w = wt.forward(new ParameterStore(s, false), new NDList(x), false)
                    .singletonOrThrow();
            assertTrue(a.sub(w).abs().max().getFloat() < 1e-5f);
        }
    }

    @Test
    void scalingFollowsRsloraAndPatterns() {
        LoraConfig c = LoraConfig.builder()
                .setTargetModules("query", "value")
                .optRank(4)
                .optAlpha(8)
                .optUseRslora(true)
                .optRankPattern(java.util.Map.of("value", 2))
                .optAlphaPattern(java.util.Map.of("value", 4.0))
                .build();
        assertEquals(8 / Math.sqrt(4), c.scalingFor("encoder.layer.0.attention.self.query"), 1e-12);
        assertEquals(4 / Math.sqrt(2), c.scalingFor("encoder.layer.0.attention.self.value"), 1e-12);
        assertEquals(2, c.rankFor("encoder.layer.0.attention.self.value"));
        // the pattern matches at a dot boundary at the end of the path only
        assertEquals(4, c.rankFor("encoder.layer.0.attention.self.xvalue"));
        assertEquals(4, c.rankFor("encoder.layer.0.value.dense"));
        LoraConfig plain = c.toBuilder().optUseRslora(false).build();
        assertEquals(2.0, plain.scalingFor("a.query"), 1e-12);
    }

    /** y = xWᵀ + b + (m/n0 − 1)(xWᵀ) + (m/n0) s (xAᵀBᵀ), summed against c, in plain doubles with n0 held fixed. */
    private static double detachedDoraLoss(
            double[][] w,
            double[] bias,
            double[][] a,
            double[][] b,
            double[] m,
            double[] n0,
            double s,
            double[][] x,
            double[][] c) {
        int out = w.length;
        int in = w[0].length;
        int r = a.length;
        double loss = 0;
        for (int i = 0; i < x.length; i++) {
            double[] ax = new double[r];
            for (int k = 0; k < r; k++) {
                for (int j = 0; j < in; j++) {
                    ax[k] += a[k][j] * x[i][j];
                }
            }
            for (int o = 0; o < out; o++) {
                double wx = 0;
                for (int j = 0; j < in; j++) {
                    wx += w[o][j] * x[i][j];
                }
                double bax = 0;
                for (int k = 0; k < r; k++) {
                    bax += b[o][k] * ax[k];
                }
                double scale = m[o] / n0[o];
                double y = wx + bias[o] + (scale - 1) * wx + scale * s * bax;
                loss += y * c[i][o];
            }
        }
        return loss;
    }

    private static double[][] matrix(NDArray a) {
        long rows = a.getShape().get(0);
        long cols = a.getShape().get(1);
        double[] flat = a.toType(DataType.FLOAT64, false).toDoubleArray();
        double[][] out = new double[(int) rows][(int) cols];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(flat, (int) (i * cols), out[i], 0, (int) cols);
        }
        return out;
    }

    @Test
    void doraGradientsFollowTheDetachedNormFormula() {
        DataType f64 = DataType.FLOAT64;
        Block base = linear(5, 4, f64);
        PeftModel m = PeftModel.builder()
                .setBaseModel(base)
                .setConfig(LoraConfig.builder()
                        .setTargetModules("0")
                        .optRank(2)
                        .optAlpha(3)
                        .optInit(LoraInit.RANDOM)
                        .optUseDora(true)
                        .build())
                .build();
        LoraLayer lora = (LoraLayer) m.getLayerAdapter(PeftModel.DEFAULT_ADAPTER, "0");
        NDArray x = randn(new Shape(3, 5), 1, f64);
        NDArray c = randn(new Shape(3, 4), 2, f64);
        // move m away from its init so that m/n ≠ 1 and the norm's gradient would show
        Parameter mag = ((io.github.peft4j.lora.variant.Dora) lora.getVariant()).getMagnitude();
        try (NDArray v = mag.getArray().stopGradient()) {
            v.muli(1.3);
        }
        double[] gradB;
        double[] gradM;
        try (NDManager s = manager.newSubManager()) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = m.forward(new ParameterStore(s, false), new NDList(x), true)
                        .singletonOrThrow();
                gc.backward(y.mul(c).sum());
            }
            gradB = lora.getLoraB().getArray().getGradient().toDoubleArray();
            gradM = mag.getArray().getGradient().toDoubleArray();
        }
        var params = io.github.peft4j.core.ModuleTree.namedParameters(base);
        double[][] w = matrix(params.get("0.weight").getArray());
        double[] bias = params.get("0.bias").getArray().toDoubleArray();
        double[][] a = matrix(lora.getLoraA().getArray());
        double[][] b = matrix(lora.getLoraB().getArray());
        double[] mv = mag.getArray().toDoubleArray();
        double sc = lora.getScaling();
        double[] n0 = new double[w.length];
        for (int o = 0; o < w.length; o++) {
            for (int j = 0; j < w[0].length; j++) {
                double ba = 0;
                for (int k = 0; k < a.length; k++) {
                    ba += b[o][k] * a[k][j];
                }
                n0[o] += (w[o][j] + sc * ba) * (w[o][j] + sc * ba);
            }
            n0[o] = Math.sqrt(n0[o]);
        }
        double[][] xs = matrix(x);
        double[][] cs = matrix(c);
        double h = 1e-6;
        boolean normMatters = false;
        for (int o = 0; o < b.length; o++) {
            for (int k = 0; k < b[0].length; k++) {
                double orig = b[o][k];
                b[o][k] = orig + h;
                double up = detachedDoraLoss(w, bias, a, b, mv, n0, sc, xs, cs);
                b[o][k] = orig - h;
                double down = detachedDoraLoss(w, bias, a, b, mv, n0, sc, xs, cs);
                b[o][k] = orig;
                double fd = (up - down) / (2 * h);
                double auto = gradB[o * b[0].length + k];
                assertEquals(fd, auto, 1e-6 * Math.max(1, Math.abs(fd)), "dL/dB[" + o + "][" + k + "]");
            }
        }
        for (int o = 0; o < mv.length; o++) {
            double orig = mv[o];
            mv[o] = orig + h;
            double up = detachedDoraLoss(w, bias, a, b, mv, n0, sc, xs, cs);
            mv[o] = orig - h;
            double down = detachedDoraLoss(w, bias, a, b, mv, n0, sc, xs, cs);
            mv[o] = orig;
            assertEquals((up - down) / (2 * h), gradM[o], 1e-6, "dL/dm[" + o + "]");
        }
        // finite differences of the model itself (n recomputed from B) disagree with the detached gradient
        double[] bValues = lora.getLoraB().getArray().toDoubleArray();
        for (int i = 0; i < bValues.length && !normMatters; i++) {
            double orig = bValues[i];
            set(lora.getLoraB().getArray(), bValues, i, orig + h);
            double up = loss(m, x, c);
            set(lora.getLoraB().getArray(), bValues, i, orig - h);
            double down = loss(m, x, c);
            set(lora.getLoraB().getArray(), bValues, i, orig);
            normMatters = Math.abs((up - down) / (2 * h) - gradB[i]) > 1e-4;
        }
        assertTrue(normMatters, "with m/n ≠ 1 the norm's own gradient is not negligible, so detaching is visible");
    }
}
