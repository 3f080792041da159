package io.github.peft4j.linalg;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Truncated singular value decompositions on the CPU through ND4J (LAPACK), in float64.
 *
 * <p>{@link #svd} is the randomized range finder of Halko, Martinsson and Tropp (2011,
 * https://arxiv.org/abs/0909.4061) with power iterations, the algorithm behind PyTorch's {@code svd_lowrank}: it costs
 * a few products with the matrix and LAPACK work on matrices no larger than (k + oversampling) on one side, never a
 * full {@code gesvd} of the input. With {@code k + oversampling ≥ min(rows, cols)} it is exact up to rounding.
 *
 * <p>Deterministic: the random test matrix comes from the given seed, not from ND4J's generator.
 */
public final class LowRank {

    /** Default oversampling (extra columns of the random test matrix). */
    public static final int DEFAULT_OVERSAMPLING = 10;

    private LowRank() {}

    /**
     * A truncated SVD M ≈ U diag(S) Vᵀ, singular values descending.
     *
     * @param u left singular vectors, row-major [rows, k]
     * @param s singular values [k], descending
     * @param vt right singular vectors as rows, row-major [k, cols]
     * @param rows rows of M
     * @param cols columns of M
     */
    public record Svd(double[] u, double[] s, double[] vt, int rows, int cols) {

        /**
         * Returns the number of singular triplets k.
         *
         * @return k
         */
        public int rank() {
            return s.length;
        }

        /**
         * Returns U[i, j].
         *
         * @param i row
         * @param j component
         * @return the entry
         */
        public double u(int i, int j) {
            return u[i * s.length + j];
        }

        /**
         * Returns Vᵀ[j, c].
         *
         * @param j component
         * @param c column
         * @return the entry
         */
        public double vt(int j, int c) {
            return vt[j * cols + c];
        }
    }

    /**
     * Computes the top-k singular triplets of a row-major matrix by a randomized SVD.
     *
     * @param m the matrix, row-major [rows, cols]; not modified
     * @param rows rows
     * @param cols columns
     * @param k how many singular triplets, in [1, min(rows, cols)]
     * @param powerIterations subspace iterations (2–4 make the top vectors accurate for slowly decaying spectra)
     * @param seed seed of the random test matrix
     * @return the decomposition with exactly k triplets
     * @throws IllegalArgumentException if k is out of range or the data length does not match
     */
    public static Svd svd(float[] m, int rows, int cols, int k, int powerIterations, long seed) {
        double[] d = new double[m.length];
        for (int i = 0; i < m.length; i++) {
            d[i] = m[i];
        }
        return svd(d, rows, cols, k, powerIterations, seed);
    }

    /**
     * Computes the top-k singular triplets of a row-major matrix by a randomized SVD.
     *
     * @param m the matrix, row-major [rows, cols]; not modified
     * @param rows rows
     * @param cols columns
     * @param k how many singular triplets, in [1, min(rows, cols)]
     * @param powerIterations subspace iterations
     * @param seed seed of the random test matrix
     * @return the decomposition with exactly k triplets
     */
    public static Svd svd(double[] m, int rows, int cols, int k, int powerIterations, long seed) {
        return svd(m, rows, cols, k, powerIterations, seed, null);
    }

    /**
     * Computes the top-k singular triplets, starting the range finder from a previous estimate of the right singular
     * vectors (for tracking a slowly changing matrix, e.g. a covariance updated batch by batch: one power iteration
     * from a good start is as accurate as several from a random one).
     *
     * @param m the matrix, row-major [rows, cols]; not modified
     * @param rows rows
     * @param cols columns
     * @param k how many singular triplets, in [1, min(rows, cols)]
     * @param powerIterations subspace iterations
     * @param seed seed of the random columns added to the start
     * @param start previous right singular vectors as rows, row-major [k0, cols] (k0 ≤ k + oversampling), or null
     * @return the decomposition with exactly k triplets
     */
    public static Svd svd(double[] m, int rows, int cols, int k, int powerIterations, long seed, double[] start) {
        LapackCheck.requireSound();
        if ((long) rows * cols != m.length) {
            throw new IllegalArgumentException(
                    "matrix data has " + m.length + " values, expected rows*cols = " + rows + "*" + cols);
        }
        int min = Math.min(rows, cols);
        if (k < 1 || k > min) {
            throw new IllegalArgumentException("k must be in [1, min(rows=" + rows + ", cols=" + cols + ")]; got " + k);
        }
        if (powerIterations < 0) {
            throw new IllegalArgumentException("powerIterations must be >= 0; got " + powerIterations);
        }
        int l = Math.min(k + DEFAULT_OVERSAMPLING, min);
        INDArray a = Nd4j.create(m, new long[] {rows, cols}, DataType.DOUBLE);
        INDArray at = a.transpose();
        INDArray omega = gaussian(cols, l, seed);
        if (start != null) {
            if (start.length % cols != 0 || start.length / cols > l) {
                throw new IllegalArgumentException("start must hold at most " + l + " rows of " + cols + " values; got "
                        + start.length + " values");
            }
            int k0 = start.length / cols;
            INDArray st =
                    Nd4j.create(start, new long[] {k0, cols}, DataType.DOUBLE).transpose();
            omega.get(NDArrayIndex.all(), NDArrayIndex.interval(0, k0)).assign(st);
        }
        INDArray q = orthonormalBasis(a.mmul(omega));
        for (int i = 0; i < powerIterations; i++) {
            INDArray z = orthonormalBasis(at.mmul(q));
            q = orthonormalBasis(a.mmul(z));
        }
        // B = Qᵀ A [l, cols]; Bᵀ = Q2 R, so B = Rᵀ Q2ᵀ and SVD(Rᵀ) = Ũ S W̃ᵀ gives B = Ũ S (Q2 W̃)ᵀ.
        INDArray bt = at.mmul(q).dup('f');
        INDArray r = Nd4j.create(DataType.DOUBLE, l, l);
        Nd4j.getBlasWrapper().lapack().geqrf(bt, r);
        INDArray rt = r.transpose().dup('f');
        INDArray s = Nd4j.create(DataType.DOUBLE, l);
        INDArray uSmall = Nd4j.create(DataType.DOUBLE, new long[] {l, l}, 'f');
        INDArray wt = Nd4j.create(DataType.DOUBLE, new long[] {l, l}, 'f');
        Nd4j.getBlasWrapper().lapack().gesvd(rt, s, uSmall, wt);
        INDArray u = q.mmul(uSmall); // [rows, l]
        INDArray vt = wt.mmul(bt.transpose()); // [l, cols]: W̃ᵀ Q2ᵀ
        double[] sk = new double[k];
        System.arraycopy(s.data().asDouble(), 0, sk, 0, k);
        double[] uk = u.get(NDArrayIndex.all(), NDArrayIndex.interval(0, k))
                .dup('c')
                .data()
                .asDouble();
        double[] vk = vt.get(NDArrayIndex.interval(0, k), NDArrayIndex.all())
                .dup('c')
                .data()
                .asDouble();
        return new Svd(uk, sk, vk, rows, cols);
    }

    private static INDArray gaussian(int rows, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] g = new double[rows * cols];
        for (int i = 0; i < g.length; i++) {
            double u1 = rnd.nextDouble();
            double u2 = rnd.nextDouble();
            g[i] = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
        }
        return Nd4j.create(g, new long[] {rows, cols}, DataType.DOUBLE);
    }

    /** Q of a thin QR of a tall matrix [m, l], m ≥ l. */
    private static INDArray orthonormalBasis(INDArray y) {
        INDArray q = y.dup('f');
        INDArray r = Nd4j.create(DataType.DOUBLE, y.columns(), y.columns());
        Nd4j.getBlasWrapper().lapack().geqrf(q, r);
        return q;
    }
}
