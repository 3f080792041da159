package io.github.peft4j.bench;

import io.github.peft4j.linalg.LowRank;
import io.github.peft4j.linalg.SparseNuclearNorm;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * SaRA's nuclear-norm term on one MiniLM-shaped update (1% of a 1536 × 384 weight): the route SaRA used before
 * (the update as a dense matrix, its full SVD through {@link LowRank}, U Vᵀ read at the positions) against
 * {@link SparseNuclearNorm} (Gram matrix, LAPACK {@code dsyevd}, sparse products), alternating in one JVM; medians
 * [min–max] of 15 after 5 warm-up. Also prints the largest difference of the two gradients.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.NuclearNormCost [rows cols density]}
 */
public final class NuclearNormCost {

    private NuclearNormCost() {}

    /**
     * Measures.
     *
     * @param args optional rows, columns and density (default 1536 384 0.01)
     */
    public static void main(String[] args) {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 1536;
        int cols = args.length > 1 ? Integer.parseInt(args[1]) : 384;
        double density = args.length > 2 ? Double.parseDouble(args[2]) : 0.01;
        Random r = new Random(1);
        int[] pos = r.ints(0, rows * cols)
                .distinct()
                .limit(Math.round(density * rows * cols))
                .sorted()
                .toArray();
        double[] values = new double[pos.length];
        for (int k = 0; k < values.length; k++) {
            values[k] = r.nextGaussian() * 1e-3;
        }
        List<Double> dense = new ArrayList<>();
        List<Double> sparse = new ArrayList<>();
        double maxDiff = 0;
        for (int i = 0; i < 20; i++) {
            long t0 = System.nanoTime();
            double[] a = denseRoute(rows, cols, pos, values);
            long t1 = System.nanoTime();
            double[] b = SparseNuclearNorm.at(rows, cols, pos, values).gradient();
            long t2 = System.nanoTime();
            if (i >= 5) {
                dense.add((t1 - t0) / 1e6);
                sparse.add((t2 - t1) / 1e6);
            }
            for (int k = 0; k < a.length; k++) {
                maxDiff = Math.max(maxDiff, Math.abs(a[k] - b[k]));
            }
        }
        System.out.printf(
                Locale.ROOT,
                "%d CPUs; %d x %d, %d entries%n| route | ms |%n| --- | ---: |%n| dense SVD | %s |%n"
                        + "| SparseNuclearNorm | %s |%nlargest difference of U V^T at the positions: %.2e%n",
                Runtime.getRuntime().availableProcessors(),
                rows,
                cols,
                pos.length,
                stats(dense),
                stats(sparse),
                maxDiff);
    }

    /** U Vᵀ at the positions from the full SVD of the dense matrix, with SparseNuclearNorm's tolerance. */
    private static double[] denseRoute(int rows, int cols, int[] pos, double[] values) {
        double[] p = new double[rows * cols];
        for (int k = 0; k < pos.length; k++) {
            p[pos[k]] = values[k];
        }
        int min = Math.min(rows, cols);
        LowRank.Svd svd = LowRank.svd(p, rows, cols, min, 0, 1);
        double tol = svd.s()[0] * Math.max(rows, cols) * 1e-7;
        int rank = 0;
        while (rank < min && svd.s()[rank] > tol) {
            rank++;
        }
        double[] g = new double[pos.length];
        for (int k = 0; k < pos.length; k++) {
            int row = pos[k] / cols;
            int col = pos[k] % cols;
            for (int j = 0; j < rank; j++) {
                g[k] += svd.u(row, j) * svd.vt(j, col);
            }
        }
        return g;
    }

    private static String stats(List<Double> ms) {
        List<Double> s = new ArrayList<>(ms);
        Collections.sort(s);
        return String.format(Locale.ROOT, "%.1f [%.1f–%.1f]", s.get(s.size() / 2), s.get(0), s.get(s.size() - 1));
    }
}
