package io.github.peft4j.linalg;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The thin singular value decomposition M = U diag(S) Vᵀ of a dense matrix in float64: LAPACK's divide-and-conquer
 * {@code dgesdd} through the OpenBLAS that ND4J's CPU backend ships, else ND4J's own {@code gesvd}. For matrices whose
 * every singular triplet matters (merging adapters through an SVD of the combined update); {@link LowRank#svd} is the
 * randomized one for the top k of large matrices. The sign of each singular pair is LAPACK's choice (implementations
 * differ: PyTorch's MKL and this OpenBLAS need not agree).
 */
public final class ExactSvd {

    private ExactSvd() {}

    /**
     * Decomposes a row-major matrix.
     *
     * @param m the matrix, row-major [rows, cols]; not modified
     * @param rows rows
     * @param cols columns
     * @return U [rows, k], S [k] descending, Vᵀ [k, cols] with k = min(rows, cols)
     * @throws IllegalArgumentException if the data length does not match
     * @throws IllegalStateException if this machine's LAPACK fails its self-check ({@link LapackCheck})
     * @throws ArithmeticException if LAPACK does not converge
     */
    public static LowRank.Svd svd(double[] m, int rows, int cols) {
        LapackCheck.requireSound();
        if ((long) rows * cols != m.length || rows < 1 || cols < 1) {
            throw new IllegalArgumentException(
                    "matrix data has " + m.length + " values, expected rows*cols = " + rows + "*" + cols);
        }
        return SparseNuclearNorm.OPENBLAS ? svdLapacke(m, rows, cols) : svdNd4j(m, rows, cols);
    }

    /** {@link #svd} through OpenBLAS's LAPACKE {@code dgesdd}. */
    static LowRank.Svd svdLapacke(double[] m, int rows, int cols) {
        int k = Math.min(rows, cols);
        double[] s = new double[k];
        double[] u = new double[rows * k];
        double[] vt = new double[k * cols];
        double[] a = m.clone();
        int info = org.bytedeco.openblas.global.openblas.LAPACKE_dgesdd(
                org.bytedeco.openblas.global.openblas.LAPACK_ROW_MAJOR,
                (byte) 'S',
                rows,
                cols,
                a,
                cols,
                s,
                u,
                k,
                vt,
                cols);
        if (info != 0) {
            throw new ArithmeticException(
                    "LAPACK dgesdd failed to converge (info " + info + ") on a " + rows + " × " + cols + " matrix");
        }
        return new LowRank.Svd(u, s, vt, rows, cols);
    }

    /** {@link #svd} through ND4J's {@code gesvd} (any backend). */
    static LowRank.Svd svdNd4j(double[] m, int rows, int cols) {
        int k = Math.min(rows, cols);
        double[] s = new double[k];
        double[] u = new double[rows * k];
        double[] vt = new double[k * cols];
        INDArray a = Nd4j.create(m, new long[] {rows, cols}, DataType.DOUBLE).dup('f');
        INDArray sv = Nd4j.create(DataType.DOUBLE, k);
        INDArray uu = Nd4j.create(DataType.DOUBLE, new long[] {rows, rows}, 'f');
        INDArray vtFull = Nd4j.create(DataType.DOUBLE, new long[] {cols, cols}, 'f');
        Nd4j.getBlasWrapper().lapack().gesvd(a, sv, uu, vtFull);
        System.arraycopy(sv.data().asDouble(), 0, s, 0, k);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < k; j++) {
                u[i * k + j] = uu.getDouble(i, j);
            }
        }
        for (int j = 0; j < k; j++) {
            for (int c = 0; c < cols; c++) {
                vt[j * cols + c] = vtFull.getDouble(j, c);
            }
        }
        return new LowRank.Svd(u, s, vt, rows, cols);
    }
}
