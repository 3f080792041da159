package io.github.peft4j.linalg;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.eigen.Eigen;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The nuclear norm ‖P‖_* of a sparse matrix and its (sub)gradient U Vᵀ read at P's own positions, without forming P
 * densely or running an SVD of it.
 *
 * <p>With P [rows, cols] and cols ≤ rows (else the transpose is used), the Gram matrix G = PᵀP [cols, cols] costs
 * Σ_rows nnz(row)² multiply-adds from the sparse rows; its eigendecomposition G = V Λ Vᵀ (LAPACK {@code dsyevd}, see
 * {@link #eigh}) gives the singular values σ = √λ and the right singular vectors. Over the singular values above the
 * tolerance, U Vᵀ = P V Σ⁻¹ Vᵀ, so the gradient at a position (r, c) is (P M)[r, c] with M = V Σ⁻¹ Vᵀ = Y Yᵀ,
 * Y = V Σ^(-1/2): that is (P Y)[r] · Y[c], two sparse passes of nnz · rank multiply-adds. The cost is one symmetric
 * eigendecomposition of the small side, against an SVD of the dense [rows, cols] matrix. Singular values below
 * {@code σ_max · max(rows, cols) · 1e-7} count as zero (numerical rank); squaring in the Gram matrix loses nothing at
 * that tolerance in double precision (the eigenvalues' absolute error ~1e-16 · σ_max² is far below the tolerance's
 * square).
 */
public final class SparseNuclearNorm {

    private SparseNuclearNorm() {}

    /**
     * Eigen-decomposes a symmetric matrix: LAPACK's divide-and-conquer {@code dsyevd} through the OpenBLAS that ND4J's
     * CPU backend ships (3–4× faster than the {@code syev} behind ND4J's {@code Eigen} at 384 × 384), else ND4J's
     * {@code Eigen} (another backend).
     *
     * @param sym the matrix, row-major [n, n]; overwritten
     * @param n its side
     * @param values receives the n eigenvalues, ascending
     * @return the eigenvectors as the columns of a row-major [n, n] matrix
     */
    static double[] eigh(double[] sym, int n, double[] values) {
        return OPENBLAS ? eighLapack(sym, n, values) : eighNd4j(sym, n, values);
    }

    /** {@link #eigh} through OpenBLAS's LAPACKE {@code dsyevd}. */
    static double[] eighLapack(double[] sym, int n, double[] values) {
        int info = org.bytedeco.openblas.global.openblas.LAPACKE_dsyevd(
                org.bytedeco.openblas.global.openblas.LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'U', n, sym, n, values);
        if (info != 0) {
            throw new ArithmeticException(
                    "LAPACK dsyevd failed to converge (info " + info + ") on a " + n + " × " + n + " Gram matrix");
        }
        return sym;
    }

    /** {@link #eigh} through ND4J's {@code Eigen} (any backend). */
    static double[] eighNd4j(double[] sym, int n, double[] values) {
        INDArray g = Nd4j.create(sym, new long[] {n, n}, DataType.DOUBLE);
        INDArray lambda = Eigen.symmetricGeneralizedEigenvalues(g, true); // g now holds the eigenvectors as columns
        System.arraycopy(lambda.data().asDouble(), 0, values, 0, n);
        return g.dup('c').data().asDouble();
    }

    static final boolean OPENBLAS = openBlasAvailable();

    private static boolean openBlasAvailable() {
        try {
            Class.forName("org.bytedeco.openblas.global.openblas");
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /**
     * The nuclear norm of P and its gradient at P's positions.
     *
     * @param norm ‖P‖_* over the singular values above the tolerance
     * @param gradient (U Vᵀ)[pos_k], one per position; all zero if P = 0
     * @param rank how many singular values were above the tolerance
     */
    public record Result(double norm, double[] gradient, int rank) {}

    /**
     * Computes ‖P‖_* and U Vᵀ at the positions of a sparse P.
     *
     * @param rows P's rows
     * @param cols P's columns
     * @param positions distinct flat row-major positions {@code r · cols + c}
     * @param values P's entries at the positions
     * @return the norm and the gradient at the positions
     * @throws IllegalArgumentException if the arrays differ in length or a position is outside P
     * @throws IllegalStateException if the LAPACK in use decomposes wrongly (see {@code LapackCheck})
     */
    public static Result at(int rows, int cols, int[] positions, double[] values) {
        LapackCheck.requireSound();
        if (positions.length != values.length) {
            throw new IllegalArgumentException(
                    positions.length + " positions but " + values.length + " values; expected one value per position");
        }
        long size = (long) rows * cols;
        for (int k = 0; k < positions.length; k++) {
            if (positions[k] < 0 || positions[k] >= size) {
                throw new IllegalArgumentException("position " + positions[k] + " at index " + k + " is outside ["
                        + rows + ", " + cols + "] (valid: 0.." + (size - 1) + ")");
            }
        }
        boolean transpose = cols > rows;
        int longSide = transpose ? cols : rows;
        int side = transpose ? rows : cols;
        int nnz = positions.length;
        // the sparse matrix as rows of the long side: row index a, column index b (b < side)
        int[] a = new int[nnz];
        int[] b = new int[nnz];
        for (int k = 0; k < nnz; k++) {
            int r = positions[k] / cols;
            int c = positions[k] - r * cols;
            a[k] = transpose ? c : r;
            b[k] = transpose ? r : c;
        }
        int[] start = new int[longSide + 1];
        for (int k = 0; k < nnz; k++) {
            start[a[k] + 1]++;
        }
        for (int i = 0; i < longSide; i++) {
            start[i + 1] += start[i];
        }
        int[] fill = start.clone();
        int[] order = new int[nnz];
        for (int k = 0; k < nnz; k++) {
            order[fill[a[k]]++] = k;
        }
        double[] gram = new double[side * side];
        boolean any = false;
        for (int i = 0; i < longSide; i++) {
            for (int p = start[i]; p < start[i + 1]; p++) {
                int kp = order[p];
                any |= values[kp] != 0;
                for (int q = start[i]; q < start[i + 1]; q++) {
                    int kq = order[q];
                    gram[b[kp] * side + b[kq]] += values[kp] * values[kq];
                }
            }
        }
        double[] gradient = new double[nnz];
        if (!any) {
            return new Result(0, gradient, 0); // P = 0: the subgradient 0 is valid
        }
        double[] lam = new double[side];
        double[] vec = eigh(gram, side, lam); // row-major: column j is the eigenvector of lam[j]
        double sMax = 0;
        for (double l : lam) {
            sMax = Math.max(sMax, Math.sqrt(Math.max(l, 0)));
        }
        double tol = sMax * Math.max(rows, cols) * 1e-7;
        int[] kept = new int[side];
        int rank = 0;
        double norm = 0;
        for (int j = 0; j < side; j++) {
            double s = Math.sqrt(Math.max(lam[j], 0));
            if (s > tol) {
                kept[rank++] = j;
                norm += s;
            }
        }
        // M = V_k Σ_k⁻¹ V_kᵀ = Y Yᵀ with Y = V_k Σ_k^(-1/2) [side, rank]; U Vᵀ at (a, b) is (P M)[a, b] = Z[a] · Y[b]
        // with Z = P Y, a sparse-times-dense product: no [side, side] product is formed
        double[] y = new double[side * rank];
        for (int j = 0; j < rank; j++) {
            double scale = 1 / Math.sqrt(Math.sqrt(lam[kept[j]]));
            for (int i = 0; i < side; i++) {
                y[i * rank + j] = vec[i * side + kept[j]] * scale;
            }
        }
        double[] z = new double[longSide * rank];
        for (int k = 0; k < nnz; k++) {
            int zo = a[k] * rank;
            int yo = b[k] * rank;
            double v = values[k];
            for (int j = 0; j < rank; j++) {
                z[zo + j] += v * y[yo + j];
            }
        }
        for (int k = 0; k < nnz; k++) {
            int zo = a[k] * rank;
            int yo = b[k] * rank;
            double sum = 0;
            for (int j = 0; j < rank; j++) {
                sum += z[zo + j] * y[yo + j];
            }
            gradient[k] = sum;
        }
        return new Result(norm, gradient, rank);
    }
}
