package io.github.peft4j.sparse.kernels;

import java.util.Arrays;
import java.util.Comparator;

/**
 * The plain scalar definitions of {@link SparseKernels}' operations, in float64 where they sum, written for
 * clarity and used as the reference in tests and benchmarks.
 */
public final class SparseReference {

    private SparseReference() {}

    /**
     * {@code dst[k] = Σ_n g[n, row_k] · x[n, col_k]}.
     *
     * @param g [n, out]
     * @param x [n, in]
     * @param n tokens
     * @param out output features
     * @param in input features
     * @param idx flat indices
     * @return the values
     */
    public static float[] sddmm(float[] g, float[] x, int n, int out, int in, int[] idx) {
        float[] dst = new float[idx.length];
        for (int k = 0; k < idx.length; k++) {
            int row = idx[k] / in;
            int col = idx[k] % in;
            double s = 0;
            for (int t = 0; t < n; t++) {
                s += (double) g[t * out + row] * x[t * in + col];
            }
            dst[k] = (float) s;
        }
        return dst;
    }

    /**
     * The dense weight gradient gᵀx [out, in].
     *
     * @param g [n, out]
     * @param x [n, in]
     * @param n tokens
     * @param out output features
     * @param in input features
     * @return gᵀx
     */
    public static float[] denseWeightGradient(float[] g, float[] x, int n, int out, int in) {
        float[] d = new float[out * in];
        for (int r = 0; r < out; r++) {
            for (int c = 0; c < in; c++) {
                double s = 0;
                for (int t = 0; t < n; t++) {
                    s += (double) g[t * out + r] * x[t * in + c];
                }
                d[r * in + c] = (float) s;
            }
        }
        return d;
    }

    /**
     * {@code y + x Δᵀ} with Δ dense-ified from (idx, delta).
     *
     * @param x [n, in]
     * @param n tokens
     * @param in input features
     * @param out output features
     * @param idx flat indices
     * @param delta values
     * @param y [n, out], not modified
     * @return the new y
     */
    public static float[] sparseDeltaForward(float[] x, int n, int in, int out, int[] idx, float[] delta, float[] y) {
        double[] dense = new double[out * in];
        for (int k = 0; k < idx.length; k++) {
            dense[idx[k]] += delta[k];
        }
        float[] r = y.clone();
        for (int t = 0; t < n; t++) {
            for (int o = 0; o < out; o++) {
                double s = r[t * out + o];
                for (int c = 0; c < in; c++) {
                    s += dense[o * in + c] * x[t * in + c];
                }
                r[t * out + o] = (float) s;
            }
        }
        return r;
    }

    /**
     * The positions of the count smallest |w| by a full sort of (|w|, position), ascending.
     *
     * @param w values
     * @param count how many
     * @return sorted positions
     */
    public static int[] smallestMagnitude(float[] w, int count) {
        Integer[] order = new Integer[w.length];
        for (int i = 0; i < w.length; i++) {
            order[i] = i;
        }
        Arrays.sort(
                order, Comparator.<Integer>comparingDouble(i -> Math.abs(w[i])).thenComparingInt(i -> i));
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            out[i] = order[i];
        }
        Arrays.sort(out);
        return out;
    }
}
