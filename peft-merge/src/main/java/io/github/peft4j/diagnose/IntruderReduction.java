package io.github.peft4j.diagnose;

import ai.djl.ndarray.NDManager;
import io.github.peft4j.linalg.ExactSvd;
import io.github.peft4j.linalg.LowRank;
import io.github.peft4j.merge.BaseWeights;
import io.github.peft4j.merge.LoraAdapter;
import io.github.peft4j.merge.LoraFactors;
import io.github.peft4j.models.HfCheckpoint;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Python PEFT's {@code reduce_intruder_dimension}: in each layer whose W + ΔW has intruder dimensions (per
 * {@link SpectralDiagnosis}), their part σᵢuᵢvᵢᵀ of W + ΔW is multiplied by λ, and the layer's new update
 * (W + ΔW − (1 − λ)·Σ σᵢuᵢvᵢᵀ − W) / s is factored back at the adapter's rank (B = U√S, A = √S Vᵀ, the singular values
 * shared between the factors as Python does). Layers without intruders keep their factors. Trades task accuracy for
 * less forgetting; λ = 0.75 is Python's default.
 */
public final class IntruderReduction {

    /** Python PEFT's default λ. */
    public static final double DEFAULT_LAMBDA = 0.75;

    private IntruderReduction() {}

    /**
     * What a reduction did.
     *
     * @param adapter the new adapter
     * @param intrudersByLayer the number of intruder dimensions reduced per layer (layers without any included, 0)
     */
    public record Result(LoraAdapter adapter, Map<String, Integer> intrudersByLayer) {}

    /**
     * Reduces the intruder dimensions of an adapter.
     *
     * @param adapter the adapter
     * @param baseModel the base model directory
     * @param diagnosis k and ε of the intruder test
     * @param lambda the factor left to the intruder dimensions (0 removes them, 1 changes nothing)
     * @return the new adapter (same config, ranks and scaling) and the counts
     * @throws IOException if the base cannot be read
     */
    public static Result apply(LoraAdapter adapter, Path baseModel, SpectralDiagnosis diagnosis, double lambda)
            throws IOException {
        if (!(lambda >= 0 && lambda <= 1)) {
            throw new IllegalArgumentException("mitigation lambda must be in [0, 1]; got " + lambda);
        }
        Map<String, LoraFactors> layers = new LinkedHashMap<>();
        Map<String, Integer> counts = new LinkedHashMap<>();
        try (HfCheckpoint base = HfCheckpoint.open(baseModel);
                NDManager m = NDManager.newBaseManager()) {
            for (Map.Entry<String, LoraFactors> e : adapter.layers().entrySet()) {
                LoraFactors f = e.getValue();
                double[] w = BaseWeights.read(base, e.getKey(), baseModel, f.out() * (long) f.in(), m);
                double[] delta = f.deltaWeight();
                double[] merged = new double[w.length];
                for (int i = 0; i < w.length; i++) {
                    merged[i] = w[i] + delta[i];
                }
                LowRank.Svd ws = ExactSvd.svd(w, f.out(), f.in());
                LowRank.Svd ms = ExactSvd.svd(merged, f.out(), f.in());
                List<Integer> intruders = new ArrayList<>();
                double[] best = SpectralDiagnosis.bestCosines(ms, ws, diagnosis.topK());
                for (int i = 0; i < best.length; i++) {
                    if (best[i] < diagnosis.epsilon()) {
                        intruders.add(i);
                    }
                }
                counts.put(e.getKey(), intruders.size());
                if (intruders.isEmpty()) {
                    layers.put(e.getKey(), f);
                    continue;
                }
                double[] d = new double[w.length];
                for (int i = 0; i < d.length; i++) {
                    d[i] = delta[i];
                }
                for (int i : intruders) {
                    double c = (lambda - 1) * ms.s()[i];
                    for (int r = 0; r < f.out(); r++) {
                        double ur = c * ms.u(r, i);
                        for (int col = 0; col < f.in(); col++) {
                            d[r * f.in() + col] += ur * ms.vt(i, col);
                        }
                    }
                }
                for (int i = 0; i < d.length; i++) {
                    d[i] /= f.scaling();
                }
                LowRank.Svd ds = ExactSvd.svd(d, f.out(), f.in());
                int r = f.rank();
                float[] b = new float[f.out() * r];
                float[] a = new float[r * f.in()];
                for (int k = 0; k < r; k++) {
                    double root = Math.sqrt(k < ds.rank() ? ds.s()[k] : 0);
                    for (int row = 0; row < f.out(); row++) {
                        b[row * r + k] = k < ds.rank() ? (float) (ds.u(row, k) * root) : 0f;
                    }
                    for (int col = 0; col < f.in(); col++) {
                        a[k * f.in() + col] = k < ds.rank() ? (float) (root * ds.vt(k, col)) : 0f;
                    }
                }
                layers.put(e.getKey(), new LoraFactors(a, b, r, f.in(), f.out(), f.scaling()));
            }
        }
        return new Result(new LoraAdapter(adapter.config().deepCopy(), layers, adapter.others()), counts);
    }
}
