package io.github.peft4j.recipes;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * LoRA-Pro's adjustment against its definition: the equivalent gradient s (B g̃_A + g̃_B A) is the projection of the
 * full gradient G onto the updates a LoRA pair can make, P_B G + G P_A − P_B G P_A with P_B = B(BᵀB)⁻¹Bᵀ and
 * P_A = Aᵀ(AAᵀ)⁻¹A; and X solves its Sylvester equation.
 */
class LoraProGradientsTest {

    private static double[] random(SplittableRandom r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextDouble() * 2 - 1;
        }
        return v;
    }

    private static double maxAbs(double[] x) {
        double m = 0;
        for (double v : x) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    private static double[] add(double[] x, double[] y, double c) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] + c * y[i];
        }
        return out;
    }

    private static double[] projector(double[] x, int rows, int cols, boolean columns) {
        // columns: X (XᵀX)⁻¹ Xᵀ [rows, rows] of X [rows, cols]; else Xᵀ (XXᵀ)⁻¹ X [cols, cols]
        double[] t = LoraProGradients.transpose(x, rows, cols);
        if (columns) {
            double[] g = LoraProGradients.mul(t, x, cols, rows, cols);
            double[] inv = LoraProGradients.Eig.of(g, cols).inverse(0);
            return LoraProGradients.mul(LoraProGradients.mul(x, inv, rows, cols, cols), t, rows, cols, rows);
        }
        double[] g = LoraProGradients.mul(x, t, rows, cols, rows);
        double[] inv = LoraProGradients.Eig.of(g, rows).inverse(0);
        return LoraProGradients.mul(LoraProGradients.mul(t, inv, cols, rows, rows), x, cols, rows, cols);
    }

    @Test
    void theEquivalentGradientIsTheProjectionOfTheFullGradient() {
        int r = 3;
        int n = 7;
        int m = 5;
        double s = 2;
        SplittableRandom rnd = new SplittableRandom(11);
        double[] a = random(rnd, r * n);
        double[] b = random(rnd, m * r);
        double[] g = random(rnd, m * n);
        // LoRA's gradients of a loss whose full-weight gradient is G: g_A = s BᵀG, g_B = s G Aᵀ
        double[] ga = scale(LoraProGradients.mul(LoraProGradients.transpose(b, m, r), g, r, m, n), s);
        double[] gb = scale(LoraProGradients.mul(g, LoraProGradients.transpose(a, r, n), m, n, r), s);
        double[][] adj = LoraProGradients.adjust(a, b, ga, gb, r, n, m, s);
        double[] equiv = add(LoraProGradients.mul(b, adj[0], m, r, n), LoraProGradients.mul(adj[1], a, m, r, n), 1);
        equiv = scale(equiv, s);
        double[] pb = projector(b, m, r, true);
        double[] pa = projector(a, r, n, false);
        double[] pbg = LoraProGradients.mul(pb, g, m, m, n);
        double[] gpa = LoraProGradients.mul(g, pa, m, n, n);
        double[] want = add(add(pbg, gpa, 1), LoraProGradients.mul(pbg, pa, m, n, n), -1);
        double err = maxAbs(add(equiv, want, -1));
        assertTrue(err < 1e-6, "equivalent gradient vs projection: " + err);
        // LoRA's own gradients are not that projection (the adjustment matters)
        double[] plain = scale(add(LoraProGradients.mul(b, ga, m, r, n), LoraProGradients.mul(gb, a, m, r, n), 1), s);
        assertTrue(maxAbs(add(plain, want, -1)) > 1e-2);
    }

    @Test
    void sylvesterSolutionSatisfiesItsEquation() {
        int r = 4;
        SplittableRandom rnd = new SplittableRandom(3);
        double[] x1 = random(rnd, 6 * r);
        double[] x2 = random(rnd, r * 9);
        double[] p = LoraProGradients.mul(LoraProGradients.transpose(x1, 6, r), x1, r, 6, r);
        double[] q = LoraProGradients.mul(x2, LoraProGradients.transpose(x2, r, 9), r, 9, r);
        double[] c = random(rnd, r * r);
        double[] x = LoraProGradients.sylvester(LoraProGradients.Eig.of(p, r), LoraProGradients.Eig.of(q, r), c, r);
        double[] lhs = add(LoraProGradients.mul(p, x, r, r, r), LoraProGradients.mul(x, q, r, r, r), 1);
        assertTrue(maxAbs(add(lhs, c, -1)) < 1e-9, "P X + X Q − C");
    }

    @Test
    void aZeroBAtTheStartGivesFiniteGradients() {
        int r = 2;
        int n = 4;
        int m = 3;
        SplittableRandom rnd = new SplittableRandom(5);
        double[] a = random(rnd, r * n);
        double[] gb = random(rnd, m * r);
        double[][] adj = LoraProGradients.adjust(a, new double[m * r], new double[r * n], gb, r, n, m, 2);
        for (double[] x : adj) {
            for (double v : x) {
                assertTrue(Double.isFinite(v));
            }
        }
        assertTrue(maxAbs(adj[0]) == 0, "g_A = 0 while B = 0");
        assertTrue(maxAbs(adj[1]) > 0);
    }

    private static double[] scale(double[] x, double c) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * c;
        }
        return out;
    }
}
