package io.github.peft4j.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The Gram-matrix route equals the SVD of the dense matrix: norm, numerical rank and U Vᵀ at the positions. */
class SparseNuclearNormTest {

    /** {@code rowsUsed} < rows makes P rank-deficient (entries in a few rows only). */
    @ParameterizedTest
    @CsvSource({
        "1536, 384, 0.01, 1536",
        "384, 1536, 0.01, 384",
        "40, 12, 0.2, 40",
        "12, 40, 0.2, 12",
        "16, 16, 0.5, 16",
        "30, 20, 0.3, 4",
        "20, 30, 0.3, 3"
    })
    void equalsTheDenseSvd(int rows, int cols, double density, int rowsUsed) {
        Random r = new Random(rows * 31L + cols);
        int[] pos = r.ints(0, rowsUsed * cols)
                .distinct()
                .limit(Math.round(density * rowsUsed * cols))
                .toArray();
        double[] vals = new double[pos.length];
        double[] dense = new double[rows * cols];
        for (int k = 0; k < pos.length; k++) {
            vals[k] = r.nextGaussian();
            dense[pos[k]] = vals[k];
        }
        SparseNuclearNorm.Result got = SparseNuclearNorm.at(rows, cols, pos, vals);

        int min = Math.min(rows, cols);
        LowRank.Svd svd = LowRank.svd(dense, rows, cols, min, 0, 1);
        double tol = svd.s()[0] * Math.max(rows, cols) * 1e-7;
        int rank = 0;
        double norm = 0;
        while (rank < min && svd.s()[rank] > tol) {
            norm += svd.s()[rank];
            rank++;
        }
        double fro = 0;
        double sumSq = 0;
        for (double v : vals) {
            fro += v * v;
        }
        for (double s : svd.s()) {
            sumSq += s * s;
        }
        assertEquals(fro, sumSq, 1e-9 * fro, "the reference SVD itself: Σσ² = ‖P‖_F²");
        assertEquals(Math.min(rowsUsed, min), rank, "numerical rank");
        assertEquals(rank, got.rank());
        assertEquals(norm, got.norm(), 1e-9 * norm);
        for (int k = 0; k < pos.length; k++) {
            int row = pos[k] / cols;
            int col = pos[k] % cols;
            double want = 0;
            for (int j = 0; j < rank; j++) {
                want += svd.u(row, j) * svd.vt(j, col);
            }
            assertEquals(want, got.gradient()[k], 1e-8, "U Vᵀ at " + row + ", " + col);
        }
    }

    @org.junit.jupiter.api.Test
    void bothEigenRoutesDecomposeTheMatrix() {
        int n = 23;
        Random r = new Random(5);
        double[] x = new double[n * 9];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextGaussian();
        }
        double[] sym = new double[n * n]; // X Xᵀ: rank 9, so 14 zero eigenvalues
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                for (int k = 0; k < 9; k++) {
                    sym[i * n + j] += x[i * 9 + k] * x[j * 9 + k];
                }
            }
        }
        for (boolean lapack : new boolean[] {true, false}) {
            double[] values = new double[n];
            double[] v = lapack
                    ? SparseNuclearNorm.eighLapack(sym.clone(), n, values)
                    : SparseNuclearNorm.eighNd4j(sym.clone(), n, values);
            for (int i = 1; i < n; i++) {
                assertTrue(values[i - 1] <= values[i], "ascending");
            }
            // V Λ Vᵀ = A
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int k = 0; k < n; k++) {
                        s += v[i * n + k] * values[k] * v[j * n + k];
                    }
                    assertEquals(sym[i * n + j], s, 1e-9 * n, (lapack ? "dsyevd" : "ND4J") + " at " + i + ", " + j);
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void theLapackInUseDecomposesCorrectly() {
        // the build's tests run with OPENBLAS_CORETYPE=Haswell (parent pom): without it, on AVX-512 AMD CPUs, this
        // check finds the wrong decompositions that SVDs and eigendecompositions above 100 × 100 would return
        assertEquals(null, LapackCheck.run());
    }

    @org.junit.jupiter.api.Test
    void zeroMatrixAndBadInput() {
        SparseNuclearNorm.Result zero = SparseNuclearNorm.at(3, 4, new int[] {1, 5}, new double[2]);
        assertEquals(0, zero.norm());
        assertEquals(0, zero.rank());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> SparseNuclearNorm.at(3, 4, new int[] {12}, new double[1]));
        assertTrue(e.getMessage().contains("position 12 at index 0 is outside [3, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SparseNuclearNorm.at(3, 4, new int[] {1}, new double[2]));
    }
}
