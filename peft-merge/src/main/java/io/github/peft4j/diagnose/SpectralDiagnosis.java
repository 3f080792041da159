package io.github.peft4j.diagnose;

import ai.djl.ndarray.NDManager;
import io.github.peft4j.linalg.ExactSvd;
import io.github.peft4j.linalg.LowRank;
import io.github.peft4j.merge.BaseWeights;
import io.github.peft4j.merge.LoraAdapter;
import io.github.peft4j.merge.LoraFactors;
import io.github.peft4j.merge.TaskVector;
import io.github.peft4j.models.HfCheckpoint;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Diagnoses updates layer by layer ({@link LayerDiagnosis}): a LoRA adapter against its base model's weights, or a
 * full fine-tune against the model it started from. Exact SVDs in float64 (LAPACK {@code dgesdd}); the intruder test
 * follows Python PEFT's {@code reduce_intruder_dimension}: the top k left singular vectors of W + ΔW, each compared by
 * |cosine| with every left singular vector of W, an intruder below ε. Defaults are Python's and the paper's: k = 10,
 * ε = 0.5.
 */
public final class SpectralDiagnosis {

    /** Python PEFT's default number of top singular vectors examined. */
    public static final int DEFAULT_TOP_K = 10;

    /** Python PEFT's default cosine threshold. */
    public static final double DEFAULT_EPSILON = 0.5;

    private final int topK;
    private final double epsilon;
    private final int spectrumLength;

    private SpectralDiagnosis(Builder b) {
        this.topK = b.topK;
        this.epsilon = b.epsilon;
        this.spectrumLength = b.spectrumLength;
    }

    /**
     * Returns a builder.
     *
     * @return a builder with the defaults
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The number of top singular vectors examined.
     *
     * @return k
     */
    public int topK() {
        return topK;
    }

    /**
     * The cosine threshold of an intruder.
     *
     * @return ε
     */
    public double epsilon() {
        return epsilon;
    }

    /**
     * Diagnoses one layer.
     *
     * @param layer the layer's name
     * @param w the base weight, row-major [out, in]
     * @param delta the update, row-major [out, in]
     * @param out rows
     * @param in columns
     * @return the diagnosis
     */
    public LayerDiagnosis layer(String layer, double[] w, double[] delta, int out, int in) {
        if (w.length != (long) out * in || delta.length != w.length) {
            throw new IllegalArgumentException(layer + ": weight and update must both hold out·in = " + out + "·" + in
                    + " values; got " + w.length + " and " + delta.length);
        }
        double[] tuned = new double[w.length];
        double nw = 0;
        double nd = 0;
        for (int i = 0; i < w.length; i++) {
            tuned[i] = w[i] + delta[i];
            nw += w[i] * w[i];
            nd += delta[i] * delta[i];
        }
        LowRank.Svd base = ExactSvd.svd(w, out, in);
        LowRank.Svd ft = ExactSvd.svd(tuned, out, in);
        LowRank.Svd upd = ExactSvd.svd(delta, out, in);
        double[] best = bestCosines(ft, base, topK);
        int intruders = 0;
        for (double c : best) {
            if (c < epsilon) {
                intruders++;
            }
        }
        return new LayerDiagnosis(
                layer,
                out,
                in,
                nw == 0 ? Double.NaN : Math.sqrt(nd / nw),
                effectiveRank(upd.s()),
                head(upd.s()),
                head(base.s()),
                head(ft.s()),
                best,
                intruders);
    }

    /**
     * Diagnoses every layer of a LoRA adapter against the weights of its base model.
     *
     * @param adapter the adapter (ΔW = s·B·A per layer)
     * @param baseModel the base model directory
     * @return one diagnosis per layer, in the adapter's order
     * @throws IOException if the base cannot be read
     * @throws IllegalArgumentException if the base lacks a layer's weight or its shape differs
     */
    public List<LayerDiagnosis> ofAdapter(LoraAdapter adapter, Path baseModel) throws IOException {
        List<LayerDiagnosis> out = new ArrayList<>();
        try (HfCheckpoint base = HfCheckpoint.open(baseModel);
                NDManager m = NDManager.newBaseManager()) {
            for (Map.Entry<String, LoraFactors> e : adapter.layers().entrySet()) {
                LoraFactors f = e.getValue();
                double[] w = BaseWeights.read(base, e.getKey(), baseModel, f.out() * (long) f.in(), m);
                out.add(layer(e.getKey(), w, f.deltaWeight(), f.out(), f.in()));
            }
        }
        return out;
    }

    /**
     * Diagnoses every two-dimensional weight of the numbered blocks (the linear layers) of a full fine-tune.
     *
     * @param baseModel the model the fine-tune started from
     * @param fineTuned the fine-tuned model directory
     * @return one diagnosis per weight, by key order
     * @throws IOException if a model cannot be read
     */
    public List<LayerDiagnosis> ofFineTune(Path baseModel, Path fineTuned) throws IOException {
        TaskVector v = TaskVector.between(baseModel, fineTuned);
        List<LayerDiagnosis> out = new ArrayList<>();
        try (HfCheckpoint ft = HfCheckpoint.open(fineTuned);
                NDManager m = NDManager.newBaseManager()) {
            for (Map.Entry<String, LoraAdapter.Tensor> e : v.deltas().entrySet()) {
                long[] shape = e.getValue().shape();
                if (shape.length != 2
                        || !e.getKey().endsWith(".weight")
                        || io.github.peft4j.merge.Lines.layerOf(e.getKey()).isEmpty()) {
                    continue;
                }
                int rows = Math.toIntExact(shape[0]);
                int cols = Math.toIntExact(shape[1]);
                double[] tuned = BaseWeights.read(
                        ft,
                        e.getKey().substring(0, e.getKey().length() - ".weight".length()),
                        fineTuned,
                        (long) rows * cols,
                        m);
                float[] d = e.getValue().values();
                double[] delta = new double[d.length];
                double[] w = new double[d.length];
                for (int i = 0; i < d.length; i++) {
                    delta[i] = d[i];
                    w[i] = tuned[i] - d[i];
                }
                String layer = e.getKey().substring(0, e.getKey().length() - ".weight".length());
                out.add(layer(layer, w, delta, rows, cols));
            }
        }
        return out;
    }

    /**
     * For each of the top k left singular vectors of a fine-tuned weight, its largest |cosine| with any left singular
     * vector of the base weight.
     *
     * @param tuned the SVD of W + ΔW
     * @param base the SVD of W
     * @param k how many of the fine-tuned vectors
     * @return min(k, rank) cosines, in the fine-tuned vectors' order
     */
    static double[] bestCosines(LowRank.Svd tuned, LowRank.Svd base, int k) {
        double[] best = new double[Math.min(k, tuned.rank())];
        for (int i = 0; i < best.length; i++) {
            double max = 0;
            for (int j = 0; j < base.rank(); j++) {
                double dot = 0;
                for (int r = 0; r < tuned.rows(); r++) {
                    dot += tuned.u(r, i) * base.u(r, j);
                }
                max = Math.max(max, Math.abs(dot));
            }
            best[i] = max;
        }
        return best;
    }

    /** Roy and Vetterli's effective rank: exp of the entropy of the normalised singular values. */
    static double effectiveRank(double[] s) {
        double sum = 0;
        for (double v : s) {
            sum += v;
        }
        if (sum == 0) {
            return 0;
        }
        double h = 0;
        for (double v : s) {
            double p = v / sum;
            if (p > 0) {
                h -= p * Math.log(p);
            }
        }
        return Math.exp(h);
    }

    private double[] head(double[] s) {
        return Arrays.copyOf(s, Math.min(spectrumLength, s.length));
    }

    /** Options of the diagnosis. */
    public static final class Builder {

        private int topK = DEFAULT_TOP_K;
        private double epsilon = DEFAULT_EPSILON;
        private int spectrumLength = 32;

        private Builder() {}

        /**
         * Sets how many top singular vectors of W + ΔW are tested.
         *
         * @param k ≥ 1 (default 10)
         * @return this builder
         */
        public Builder optTopK(int k) {
            if (k < 1) {
                throw new IllegalArgumentException("top k must be ≥ 1; got " + k);
            }
            this.topK = k;
            return this;
        }

        /**
         * Sets the cosine below which a singular vector is an intruder.
         *
         * @param epsilon in (0, 1] (default 0.5)
         * @return this builder
         */
        public Builder optEpsilon(double epsilon) {
            if (!(epsilon > 0 && epsilon <= 1)) {
                throw new IllegalArgumentException("epsilon must be in (0, 1]; got " + epsilon);
            }
            this.epsilon = epsilon;
            return this;
        }

        /**
         * Sets how many singular values of each spectrum are kept.
         *
         * @param n ≥ 1 (default 32)
         * @return this builder
         */
        public Builder optSpectrumLength(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("spectrum length must be ≥ 1; got " + n);
            }
            this.spectrumLength = n;
            return this;
        }

        /**
         * Builds the diagnosis.
         *
         * @return the diagnosis
         */
        public SpectralDiagnosis build() {
            return new SpectralDiagnosis(this);
        }
    }
}
