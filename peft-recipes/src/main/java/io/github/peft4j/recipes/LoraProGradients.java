package io.github.peft4j.recipes;

import io.github.peft4j.linalg.ExactSvd;
import io.github.peft4j.linalg.LowRank;

/**
 * LoRA-Pro's gradient adjustment of one LoRA pair (Wang et al., 2025, Theorems 2.1–2.2), on row-major double arrays.
 * With A [r, n], B [m, r], scaling s and LoRA's gradients g_A = s·Bᵀ G, g_B = s·G Aᵀ of the full gradient G:
 *
 * <pre>
 *   g̃_A = (1/s²) (BᵀB)⁻¹ g_A + X A
 *   g̃_B = (1/s²) [I − B (BᵀB)⁻¹ Bᵀ] g_B (AAᵀ)⁻¹ − B X
 * </pre>
 *
 * makes the equivalent full-weight gradient s (B g̃_A + g̃_B A) the closest to G that a LoRA update can be, and X, the
 * solution of the Sylvester equation BᵀB X + X AAᵀ = −(1/s²)(BᵀB)⁻¹ g_A Aᵀ, picks among those updates the one
 * closest to LoRA's own gradients. The inverses are pseudo-inverses of the matrices plus δI (δ = 1e-8), as the
 * authors' code computes them, so that B = 0 at the start is handled.
 */
final class LoraProGradients {

    static final double DELTA = 1e-8;

    private LoraProGradients() {}

    /** The adjusted gradients {g̃_A [r, n], g̃_B [m, r]}. */
    static double[][] adjust(double[] a, double[] b, double[] ga, double[] gb, int r, int n, int m, double s) {
        double inv = 1 / (s * s);
        double[] btb = mul(transpose(b, m, r), b, r, m, r); // [r, r]
        double[] aat = mul(a, transpose(a, r, n), r, n, r); // [r, r]
        Eig p = Eig.of(btb, r);
        Eig q = Eig.of(aat, r);
        double[] pInv = p.inverse(DELTA);
        double[] qInv = q.inverse(DELTA);
        // g̃_A without X: (1/s²) P⁻¹ g_A
        double[] gA = scale(mul(pInv, ga, r, r, n), inv);
        // (1/s²) (g_B − B P⁻¹ Bᵀ g_B) Q⁻¹
        double[] btgb = mul(transpose(b, m, r), gb, r, m, r);
        double[] proj = mul(b, mul(pInv, btgb, r, r, r), m, r, r);
        double[] gB = scale(mul(sub(gb, proj), qInv, m, r, r), inv);
        // X: P X + X Q = C with C = −(1/s²) P⁻¹ g_A Aᵀ
        double[] c = scale(mul(mul(pInv, ga, r, r, n), transpose(a, r, n), r, n, r), -inv);
        double[] x = sylvester(p, q, c, r);
        double[] xa = mul(x, a, r, r, n);
        double[] bx = mul(b, x, m, r, r);
        for (int i = 0; i < gA.length; i++) {
            gA[i] += xa[i];
        }
        for (int i = 0; i < gB.length; i++) {
            gB[i] -= bx[i];
        }
        return new double[][] {gA, gB};
    }

    /** Solves P X + X Q = C for symmetric positive semi-definite P, Q [r, r] through their eigenvectors. */
    static double[] sylvester(Eig p, Eig q, double[] c, int r) {
        // Uᵀ C V, divided entrywise by λ_i + μ_j, then U · Vᵀ back
        double[] f = mul(mul(transpose(p.vectors, r, r), c, r, r, r), q.vectors, r, r, r);
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < r; j++) {
                double d = p.values[i] + q.values[j];
                f[i * r + j] = d > 0 ? f[i * r + j] / d : 0;
            }
        }
        return mul(mul(p.vectors, f, r, r, r), transpose(q.vectors, r, r), r, r, r);
    }

    /** The eigen-decomposition of a symmetric positive semi-definite matrix: columns of {@code vectors}. */
    record Eig(double[] vectors, double[] values) {
        static Eig of(double[] sym, int r) {
            LowRank.Svd svd = ExactSvd.svd(sym, r, r); // for a PSD matrix: U = eigenvectors, S = eigenvalues
            return new Eig(svd.u(), svd.s());
        }

        /** (M + δI)⁻¹ = U diag(1 / (λ + δ)) Uᵀ. */
        double[] inverse(double delta) {
            int r = values.length;
            double[] out = new double[r * r];
            for (int i = 0; i < r; i++) {
                for (int j = 0; j < r; j++) {
                    double sum = 0;
                    for (int k = 0; k < r; k++) {
                        sum += vectors[i * r + k] * vectors[j * r + k] / (values[k] + delta);
                    }
                    out[i * r + j] = sum;
                }
            }
            return out;
        }
    }

    static double[] mul(double[] x, double[] y, int rows, int inner, int cols) {
        double[] out = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < inner; k++) {
                double v = x[i * inner + k];
                if (v == 0) {
                    continue;
                }
                for (int j = 0; j < cols; j++) {
                    out[i * cols + j] += v * y[k * cols + j];
                }
            }
        }
        return out;
    }

    static double[] transpose(double[] x, int rows, int cols) {
        double[] out = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[j * rows + i] = x[i * cols + j];
            }
        }
        return out;
    }

    private static double[] scale(double[] x, double c) {
        for (int i = 0; i < x.length; i++) {
            x[i] *= c;
        }
        return x;
    }

    private static double[] sub(double[] x, double[] y) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] - y[i];
        }
        return out;
    }
}
