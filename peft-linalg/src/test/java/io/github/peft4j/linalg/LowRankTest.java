package io.github.peft4j.linalg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LowRankTest {

    /** Columns of a random [n, k] matrix made orthonormal by Gram-Schmidt (row-major). */
    private static double[] orthonormal(int n, int k, Random rnd) {
        double[] q = new double[n * k];
        for (int j = 0; j < k; j++) {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = rnd.nextGaussian();
            }
            for (int p = 0; p < j; p++) {
                double dot = 0;
                for (int i = 0; i < n; i++) {
                    dot += v[i] * q[i * k + p];
                }
                for (int i = 0; i < n; i++) {
                    v[i] -= dot * q[i * k + p];
                }
            }
            double norm = 0;
            for (double x : v) {
                norm += x * x;
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < n; i++) {
                q[i * k + j] = v[i] / norm;
            }
        }
        return q;
    }

    /** M = U diag(sigma) Vᵀ with known factors. */
    private static double[] compose(double[] u, double[] sigma, double[] v, int rows, int cols) {
        int k = sigma.length;
        double[] m = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int c = 0; c < cols; c++) {
                double s = 0;
                for (int j = 0; j < k; j++) {
                    s += u[i * k + j] * sigma[j] * v[c * k + j];
                }
                m[i * cols + c] = s;
            }
        }
        return m;
    }

    @Test
    void recoversAKnownSpectrumAndItsSubspaces() {
        Random rnd = new Random(1);
        int rows = 120;
        int cols = 70;
        int full = 70;
        double[] sigma = new double[full];
        for (int j = 0; j < full; j++) {
            sigma[j] = 10 * Math.pow(0.85, j);
        }
        double[] u = orthonormal(rows, full, rnd);
        double[] v = orthonormal(cols, full, rnd);
        double[] m = compose(u, sigma, v, rows, cols);
        int k = 6;
        LowRank.Svd svd = LowRank.svd(m, rows, cols, k, 4, 7);
        assertEquals(k, svd.rank());
        for (int j = 0; j < k; j++) {
            assertEquals(sigma[j], svd.s()[j], 1e-6 * sigma[0], "singular value " + j);
            // |<u_j, û_j>| = 1 and |<v_j, v̂_j>| = 1 (signs are free)
            double du = 0;
            double dv = 0;
            for (int i = 0; i < rows; i++) {
                du += u[i * full + j] * svd.u(i, j);
            }
            for (int c = 0; c < cols; c++) {
                dv += v[c * full + j] * svd.vt(j, c);
            }
            assertEquals(1, Math.abs(du), 1e-6, "left vector " + j);
            assertEquals(1, Math.abs(dv), 1e-6, "right vector " + j);
            assertEquals(Math.signum(du), Math.signum(dv), "u and v signs agree for " + j);
        }
    }

    @Test
    void fullRankIsExactAndOrthonormalForWideAndTall() {
        Random rnd = new Random(2);
        for (int[] dims : new int[][] {{9, 31}, {31, 9}, {1, 5}, {5, 1}}) {
            int rows = dims[0];
            int cols = dims[1];
            double[] m = new double[rows * cols];
            for (int i = 0; i < m.length; i++) {
                m[i] = rnd.nextGaussian();
            }
            int k = Math.min(rows, cols);
            LowRank.Svd svd = LowRank.svd(m, rows, cols, k, 0, 3);
            double[] back = new double[rows * cols];
            for (int i = 0; i < rows; i++) {
                for (int c = 0; c < cols; c++) {
                    double s = 0;
                    for (int j = 0; j < k; j++) {
                        s += svd.u(i, j) * svd.s()[j] * svd.vt(j, c);
                    }
                    back[i * cols + c] = s;
                }
            }
            assertArrayEquals(m, back, 1e-10, rows + "x" + cols + " reconstruction");
            for (int a = 0; a < k; a++) {
                for (int b = 0; b < k; b++) {
                    double du = 0;
                    double dv = 0;
                    for (int i = 0; i < rows; i++) {
                        du += svd.u(i, a) * svd.u(i, b);
                    }
                    for (int c = 0; c < cols; c++) {
                        dv += svd.vt(a, c) * svd.vt(b, c);
                    }
                    assertEquals(a == b ? 1 : 0, du, 1e-10);
                    assertEquals(a == b ? 1 : 0, dv, 1e-10);
                }
            }
            for (int j = 1; j < k; j++) {
                assertTrue(svd.s()[j - 1] >= svd.s()[j], "descending");
            }
        }
    }

    @Test
    void aWarmStartFromTheTrueVectorsConvergesInOneIteration() {
        Random rnd = new Random(4);
        int n = 80;
        double[] sigma = new double[n];
        for (int j = 0; j < n; j++) {
            sigma[j] = 1.0 / (1 + 0.05 * j); // slow decay: a cold start with one iteration is visibly off
        }
        double[] u = orthonormal(n, n, rnd);
        double[] m = compose(u, sigma, u, n, n); // symmetric PSD, like a covariance
        int k = 5;
        double[] start = new double[k * n];
        for (int j = 0; j < k; j++) {
            for (int c = 0; c < n; c++) {
                start[j * n + c] = u[c * n + j];
            }
        }
        LowRank.Svd warm = LowRank.svd(m, n, n, k, 1, 9, start);
        LowRank.Svd cold = LowRank.svd(m, n, n, k, 1, 9, null);
        double warmErr = 0;
        double coldErr = 0;
        for (int j = 0; j < k; j++) {
            warmErr = Math.max(warmErr, Math.abs(warm.s()[j] - sigma[j]));
            coldErr = Math.max(coldErr, Math.abs(cold.s()[j] - sigma[j]));
        }
        assertTrue(warmErr < 1e-9, "warm " + warmErr);
        assertTrue(coldErr > 100 * warmErr, "cold " + coldErr + " warm " + warmErr);
        assertThrows(IllegalArgumentException.class, () -> LowRank.svd(m, n, n, k, 1, 9, new double[n + 1]));
    }

    @Test
    void sameSeedSameResult() {
        Random rnd = new Random(3);
        float[] m = new float[40 * 30];
        for (int i = 0; i < m.length; i++) {
            m[i] = (float) rnd.nextGaussian();
        }
        LowRank.Svd a = LowRank.svd(m, 40, 30, 4, 2, 11);
        LowRank.Svd b = LowRank.svd(m, 40, 30, 4, 2, 11);
        assertArrayEquals(a.u(), b.u());
        assertArrayEquals(a.vt(), b.vt());
    }

    @Test
    void badArguments() {
        double[] m = new double[12];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LowRank.svd(m, 3, 4, 4, 0, 1));
        assertTrue(e.getMessage().contains("min(rows=3, cols=4)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LowRank.svd(m, 3, 5, 1, 0, 1));
    }
}
