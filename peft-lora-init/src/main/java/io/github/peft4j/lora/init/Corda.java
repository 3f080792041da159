package io.github.peft4j.lora.init;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.linalg.ExactSvd;
import io.github.peft4j.linalg.LowRank;
import io.github.peft4j.lora.LoraLayer;
import io.github.peft4j.train.TrainingData;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CorDA (Yang et al., 2024, https://arxiv.org/abs/2406.05223): context-oriented decomposition. Each target layer's
 * input covariance C is collected over sample data; the weight is decomposed with it, W C = U S Vᵀ, so that
 * W = U S (Vᵀ C⁻¹), and LoRA starts on r of those components: the largest in the instruction-previewed mode
 * ({@link Mode#IPM}: the adapter holds what the task's inputs use most, PiSSA oriented by the data), the smallest in
 * the knowledge-preserved mode ({@link Mode#KPM}: the components the sample data — e.g. questions whose answers the
 * model must keep — use most stay frozen). With s the scaling: {@code A = √(S/s) Vᵀ C⁻¹}, {@code B = U √(S/s)}, and the
 * base becomes W − s·BA, kept as a frozen residual of the adapter as PiSSA's is, so the output is unchanged at step 0
 * and saving writes the rank-2r adapter relative to the original base.
 *
 * <p>As Python PEFT's {@code preprocess_corda}: each sample's inputs (its real tokens) are divided by their largest
 * value, C is the mean of their XᵀX over samples, and C is damped by d·mean(diag C)·I, d = 0.01 doubled until the
 * inverse is good to 0.05 (Frobenius norm of C C⁻¹ − I). The SVD is exact (LAPACK), as the smallest components need it.
 *
 * <pre>{@code
 * Corda.initialize(model, PeftModel.DEFAULT_ADAPTER, samples, Corda.Mode.IPM, 256, in -> in.get(1));
 * }</pre>
 */
public final class Corda {

    private static final Logger LOG = LoggerFactory.getLogger(Corda.class);

    /** Which components the adapter starts on. */
    public enum Mode {
        /** Instruction-previewed: the r largest components of W C (the adapter learns the task's directions). */
        IPM,
        /** Knowledge-preserved: the r smallest (the components the samples use most stay frozen). */
        KPM
    }

    private Corda() {}

    /**
     * Initialises every layer of a LoRA adapter with CorDA.
     *
     * @param model the model holding the adapter (not merged, activation path)
     * @param adapter the adapter name
     * @param samples the sample data (labels unused); each example counts as one sample
     * @param mode which components the adapter starts on
     * @param maxSamples how many examples to read at most
     * @param tokenMask from a batch's inputs to its token mask [batch, seq] (1 = real token), or null for all
     *     positions; e.g. {@code in -> in.size() > 1 ? in.get(1) : null}
     * @throws IllegalArgumentException if the adapter is missing or not LoRA, a layer is on the weight path, or the
     *     data is empty
     */
    public static void initialize(
            PeftModel model,
            String adapter,
            TrainingData samples,
            Mode mode,
            int maxSamples,
            Function<NDList, NDArray> tokenMask) {
        Map<String, LoraLayer> layers = InitSupport.loraLayers(model, adapter, "CorDA");
        InitSupport.requireActivationPath(model, layers, "CorDA");
        InitSupport.requirePositiveScaling(layers, "CorDA");
        InitSupport.requireData(samples, "CorDA", "sample data for the input covariance");
        long t0 = System.nanoTime();
        Map<String, double[]> cov =
                covariances(model, layers, samples, Math.min(maxSamples, samples.size()), tokenMask);
        for (Map.Entry<String, LoraLayer> e : layers.entrySet()) {
            LoraLayer layer = e.getValue();
            int out = Math.toIntExact(layer.getTarget().outFeatures());
            int in = Math.toIntExact(layer.getTarget().inFeatures());
            double[][] ab = factors(
                    InitSupport.weightValues(layer),
                    out,
                    in,
                    cov.get(e.getKey()),
                    layer.getRank(),
                    layer.getScaling(),
                    mode);
            layer.setResidualWeights(
                    toFloat(ab[0]), toFloat(ab[1]), "CorDA (" + mode.name().toLowerCase() + ")");
        }
        LOG.info(
                "CorDA ({}) initialised {} layers of '{}' from {} samples in {} ms",
                mode,
                layers.size(),
                adapter,
                Math.min(maxSamples, samples.size()),
                (System.nanoTime() - t0) / 1_000_000);
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /** Each layer's mean over samples of XᵀX (X a sample's real-token inputs over their largest value), [in, in]. */
    private static Map<String, double[]> covariances(
            PeftModel model,
            Map<String, LoraLayer> layers,
            TrainingData samples,
            int count,
            Function<NDList, NDArray> tokenMask) {
        Map<String, double[]> sums = new LinkedHashMap<>();
        NDManager root = layers.values().iterator().next().getLoraA().getArray().getManager();
        List<ai.djl.nn.Parameter> frozen = InitSupport.freezeTrainable(model);
        try {
            for (int i = 0; i < count; i++) {
                int[] idx = {i};
                try (NDManager s = root.newSubManager()) {
                    NDList inputs = samples.inputs(idx, s);
                    NDArray mask = tokenMask == null ? null : tokenMask.apply(inputs);
                    boolean[] keep = mask == null ? null : toBooleans(mask);
                    for (Map.Entry<String, LoraLayer> e : layers.entrySet()) {
                        String path = e.getKey();
                        e.getValue().setForwardHook((x, y) -> {
                            accumulate(sums, path, x, keep);
                            return y;
                        });
                    }
                    try {
                        model.forward(new ParameterStore(s, false), inputs, false);
                    } finally {
                        layers.values().forEach(l -> l.setForwardHook(null));
                    }
                }
            }
        } finally {
            InitSupport.unfreeze(frozen);
        }
        for (String path : layers.keySet()) {
            double[] c = sums.get(path);
            if (c == null) {
                throw new IllegalStateException("CorDA: the forward pass did not reach '" + path + "'");
            }
            for (int k = 0; k < c.length; k++) {
                c[k] /= count;
            }
        }
        return sums;
    }

    private static boolean[] toBooleans(NDArray mask) {
        long[] v = mask.toType(DataType.INT64, false).toLongArray();
        boolean[] b = new boolean[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = v[i] != 0;
        }
        return b;
    }

    private static void accumulate(Map<String, double[]> sums, String path, NDArray x, boolean[] keep) {
        long in = x.getShape().get(x.getShape().dimension() - 1);
        float[] v = x.stopGradient().toType(DataType.FLOAT32, false).toFloatArray();
        int n = Math.toIntExact(v.length / in);
        int width = Math.toIntExact(in);
        // Python: x / torch.max(x).abs() over the sample's tokens
        double max = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < n; t++) {
            if (keep != null && !keep[t]) {
                continue;
            }
            for (int j = 0; j < width; j++) {
                max = Math.max(max, v[t * width + j]);
            }
        }
        double scale = Math.abs(max);
        double[] c = sums.computeIfAbsent(path, k -> new double[width * width]);
        for (int t = 0; t < n; t++) {
            if (keep != null && !keep[t]) {
                continue;
            }
            for (int a = 0; a < width; a++) {
                double xa = v[t * width + a] / scale;
                if (xa == 0) {
                    continue;
                }
                for (int b = 0; b < width; b++) {
                    c[a * width + b] += xa * (v[t * width + b] / scale);
                }
            }
        }
    }

    /**
     * A and B of one layer from its weight and input covariance.
     *
     * @return {A [r, in], B [out, r]}, row-major
     */
    static double[][] factors(float[] weight, int out, int in, double[] cov, int r, double scaling, Mode mode) {
        // damped covariance and its inverse, through the eigen-decomposition of the symmetric matrix
        double meanDiag = 0;
        for (int i = 0; i < in; i++) {
            meanDiag += cov[i * in + i];
        }
        meanDiag /= in;
        double damp = 0.01;
        double[] fixed;
        double[] inv;
        while (true) {
            fixed = cov.clone();
            for (int i = 0; i < in; i++) {
                fixed[i * in + i] += meanDiag * damp;
            }
            inv = inverse(fixed, in);
            if (inverseError(fixed, inv, in) < 0.05 || damp > 1e6) {
                break;
            }
            damp *= 2;
        }
        double[] wc = new double[out * in];
        for (int i = 0; i < out; i++) {
            for (int k = 0; k < in; k++) {
                double w = weight[i * in + k];
                if (w == 0) {
                    continue;
                }
                for (int j = 0; j < in; j++) {
                    wc[i * in + j] += w * fixed[k * in + j];
                }
            }
        }
        LowRank.Svd svd = ExactSvd.svd(wc, out, in);
        int m = svd.s().length;
        if (r > m) {
            throw new IllegalArgumentException("CorDA: rank " + r + " exceeds min(out, in) = " + m);
        }
        double[] a = new double[r * in];
        double[] b = new double[out * r];
        for (int j = 0; j < r; j++) {
            int c = mode == Mode.IPM ? j : m - r + j;
            double root = Math.sqrt(svd.s()[c] / scaling);
            // row c of Vᵀ C⁻¹
            for (int col = 0; col < in; col++) {
                double sum = 0;
                for (int k = 0; k < in; k++) {
                    sum += svd.vt(c, k) * inv[k * in + col];
                }
                a[j * in + col] = root * sum;
            }
            for (int i = 0; i < out; i++) {
                b[i * r + j] = svd.u(i, c) * root;
            }
        }
        return new double[][] {a, b};
    }

    /** The inverse of a symmetric positive definite matrix through its eigen-decomposition (LAPACK). */
    private static double[] inverse(double[] sym, int n) {
        LowRank.Svd svd = ExactSvd.svd(sym, n, n);
        double[] out = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    s += svd.u(i, k) * svd.vt(k, j) / svd.s()[k];
                }
                out[j * n + i] = s;
            }
        }
        return out;
    }

    private static double inverseError(double[] m, double[] inv, int n) {
        double sq = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    s += m[i * n + k] * inv[k * n + j];
                }
                double d = s - (i == j ? 1 : 0);
                sq += d * d;
            }
        }
        return Math.sqrt(sq);
    }
}
