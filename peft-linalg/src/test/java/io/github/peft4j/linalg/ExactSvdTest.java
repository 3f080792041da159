package io.github.peft4j.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link ExactSvd} through both routes: U S Vᵀ reproduces M, U and V are orthonormal, S descends. */
class ExactSvdTest {

    @ParameterizedTest
    @CsvSource({"7,5,lapacke", "5,7,lapacke", "200,130,lapacke", "7,5,nd4j", "5,7,nd4j", "130,200,nd4j"})
    void decomposes(int rows, int cols, String route) {
        SplittableRandom r = new SplittableRandom(rows * 31L + cols);
        double[] m = new double[rows * cols];
        for (int i = 0; i < m.length; i++) {
            m[i] = r.nextDouble() * 2 - 1;
        }
        double[] copy = m.clone();
        Function<double[], LowRank.Svd> svd = "lapacke".equals(route)
                ? a -> ExactSvd.svdLapacke(a, rows, cols)
                : a -> ExactSvd.svdNd4j(a, rows, cols);
        LapackCheck.requireSound();
        LowRank.Svd d = svd.apply(m);
        int k = Math.min(rows, cols);
        assertEquals(k, d.rank());
        for (int i = 0; i < m.length; i++) {
            assertEquals(copy[i], m[i], 0.0, "the input must not change");
        }
        for (int i = 0; i < rows; i++) {
            for (int c = 0; c < cols; c++) {
                double v = 0;
                for (int j = 0; j < k; j++) {
                    v += d.u(i, j) * d.s()[j] * d.vt(j, c);
                }
                assertEquals(m[i * cols + c], v, 1e-10, "M[" + i + "," + c + "]");
            }
        }
        for (int j = 1; j < k; j++) {
            assertTrue(d.s()[j] <= d.s()[j - 1] && d.s()[j] >= 0, "descending, non-negative");
        }
        for (int a = 0; a < k; a++) {
            for (int b = 0; b < k; b++) {
                double uu = 0;
                for (int i = 0; i < rows; i++) {
                    uu += d.u(i, a) * d.u(i, b);
                }
                double vv = 0;
                for (int c = 0; c < cols; c++) {
                    vv += d.vt(a, c) * d.vt(b, c);
                }
                assertEquals(a == b ? 1 : 0, uu, 1e-10, "UᵀU");
                assertEquals(a == b ? 1 : 0, vv, 1e-10, "VᵀV");
            }
        }
    }
}
