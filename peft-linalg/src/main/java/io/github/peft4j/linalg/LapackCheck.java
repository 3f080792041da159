package io.github.peft4j.linalg;

import java.util.Random;

/**
 * Checks once per JVM that the LAPACK behind ND4J computes correct decompositions, and fails with the remedy if not.
 *
 * <p>ND4J 1.0.0-M2.1 ships OpenBLAS 0.3.19, whose runtime kernel choice on AMD CPUs with AVX-512 (measured on an EPYC
 * with avx512_bf16) gives wrong eigenvectors and singular vectors from about 100 × 100 on (matrix products stay
 * right), silently: an SVD of a 1536 × 384 matrix reconstructed it with an error 100× its entries. Forcing the
 * Haswell (AVX2) kernels with {@code OPENBLAS_CORETYPE=Haswell} in the environment before the JVM starts gives correct
 * results. The check decomposes a 160 × 160 symmetric matrix both ways peft4j does (ND4J's {@code Eigen} and, where
 * present, LAPACK's {@code dsyevd}) and compares the reconstruction.
 */
final class LapackCheck {

    private static final int N = 160;

    private LapackCheck() {}

    private static final class Holder {
        static final String PROBLEM = run();
    }

    /**
     * Fails if the LAPACK in use gives wrong decompositions.
     *
     * @throws IllegalStateException naming the remedy
     */
    static void requireSound() {
        if (Holder.PROBLEM != null) {
            throw new IllegalStateException(Holder.PROBLEM);
        }
    }

    /** Null when sound, else the message. */
    static String run() {
        Random r = new Random(7);
        int m = N / 2;
        double[] a = new double[N * m];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextGaussian();
        }
        double[] sym = new double[N * N];
        double scale = 0;
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < m; k++) {
                    s += a[i * m + k] * a[j * m + k];
                }
                sym[i * N + j] = s;
                scale = Math.max(scale, Math.abs(s));
            }
        }
        double worst = reconstructionError(sym, SparseNuclearNorm::eighNd4j);
        if (SparseNuclearNorm.OPENBLAS) {
            worst = Math.max(worst, reconstructionError(sym, SparseNuclearNorm::eighLapack));
        }
        if (worst <= 1e-9 * scale) {
            return null;
        }
        return String.format(
                java.util.Locale.ROOT,
                "the LAPACK behind ND4J decomposes a %d x %d test matrix wrongly (error %.3g at entries up to %.3g),"
                        + " so SVDs and eigendecompositions (PiSSA, LoRA-GA, EVA, SaRA's low-rank term) would be"
                        + " wrong. OpenBLAS 0.3.19 picks broken kernels on some AVX-512 AMD CPUs: start the JVM with"
                        + " OPENBLAS_CORETYPE=Haswell in the environment (bin/peft sets it)",
                N,
                N,
                worst,
                scale);
    }

    private interface Eigh {
        double[] apply(double[] sym, int n, double[] values);
    }

    private static double reconstructionError(double[] sym, Eigh eigh) {
        double[] w = new double[N];
        double[] v = eigh.apply(sym.clone(), N, w);
        double err = 0;
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < N; k++) {
                    s += v[i * N + k] * w[k] * v[j * N + k];
                }
                err = Math.max(err, Math.abs(s - sym[i * N + j]));
            }
        }
        return err;
    }
}
