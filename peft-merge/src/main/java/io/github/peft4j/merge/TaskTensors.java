package io.github.peft4j.merge;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The merge functions of Python PEFT's {@code merge_utils} on flattened tensors of equal length (one per task):
 * task arithmetic, magnitude and random (DARE) pruning, TIES' majority sign and disjoint mean. Sums run in float64.
 */
public final class TaskTensors {

    private TaskTensors() {}

    /**
     * Σ_i w_i · t_i.
     *
     * @param tensors the task tensors
     * @param weights one weight per tensor
     * @return the weighted sum
     */
    public static double[] taskArithmetic(double[][] tensors, double[] weights) {
        check(tensors, weights);
        double[] out = new double[tensors[0].length];
        for (int i = 0; i < tensors.length; i++) {
            double w = weights[i];
            double[] t = tensors[i];
            for (int j = 0; j < out.length; j++) {
                out[j] += w * t[j];
            }
        }
        return out;
    }

    /**
     * Keeps the ⌊density · n⌋ entries of largest magnitude and zeroes the rest (ties at the threshold: lower indices
     * first); a density ≥ 1 keeps everything.
     *
     * @param t the tensor (not modified)
     * @param density the fraction to keep, ≥ 0
     * @return the pruned copy
     */
    public static double[] magnitudePrune(double[] t, double density) {
        requireDensity(density);
        if (density >= 1) {
            return t.clone();
        }
        int k = (int) (density * t.length);
        double[] out = new double[t.length];
        if (k == 0) {
            return out;
        }
        double[] mags = new double[t.length];
        for (int j = 0; j < t.length; j++) {
            mags[j] = Math.abs(t[j]);
        }
        double[] sorted = mags.clone();
        Arrays.sort(sorted);
        double threshold = sorted[t.length - k];
        int above = 0;
        for (double m : mags) {
            if (m > threshold) {
                above++;
            }
        }
        int atThreshold = k - above;
        for (int j = 0; j < t.length; j++) {
            if (mags[j] > threshold || (mags[j] == threshold && atThreshold-- > 0)) {
                out[j] = t[j];
            }
        }
        return out;
    }

    /**
     * DARE's random pruning: keeps each entry with probability {@code density}, then divides by it if
     * {@code rescale}; a density ≥ 1 keeps everything unscaled (as Python PEFT).
     *
     * @param t the tensor (not modified)
     * @param density the keep probability, ≥ 0
     * @param rescale whether to divide the kept entries by the density
     * @param random the source of the mask
     * @return the pruned copy
     */
    public static double[] randomPrune(double[] t, double density, boolean rescale, SplittableRandom random) {
        requireDensity(density);
        if (density >= 1) {
            return t.clone();
        }
        double[] out = new double[t.length];
        double scale = rescale ? 1 / density : 1;
        for (int j = 0; j < t.length; j++) {
            if (random.nextDouble() < density) {
                out[j] = t[j] * scale;
            }
        }
        return out;
    }

    /**
     * TIES' elected sign per entry: +1 where the sum (TOTAL) or the count of signs (FREQUENCY) over tasks is ≥ 0,
     * else −1; the mask marks the task entries with that sign (zeros never match).
     *
     * @param tensors the task tensors
     * @param method how to elect
     * @return mask[i][j]
     */
    public static boolean[][] majoritySignMask(double[][] tensors, MajoritySign method) {
        int n = tensors[0].length;
        boolean[][] mask = new boolean[tensors.length][n];
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (double[] t : tensors) {
                s += method == MajoritySign.TOTAL ? t[j] : Math.signum(t[j]);
            }
            double elected = s >= 0 ? 1 : -1;
            for (int i = 0; i < tensors.length; i++) {
                mask[i][j] = Math.signum(tensors[i][j]) == elected;
            }
        }
        return mask;
    }

    /**
     * The mean of the entries the mask keeps (over at least one).
     *
     * @param weighted the weighted task tensors
     * @param mask which entries count
     * @return the disjoint mean
     */
    public static double[] disjointMerge(double[][] weighted, boolean[][] mask) {
        int n = weighted[0].length;
        double[] out = new double[n];
        for (int j = 0; j < n; j++) {
            double s = 0;
            int kept = 0;
            for (int i = 0; i < weighted.length; i++) {
                if (mask[i][j]) {
                    s += weighted[i][j];
                    kept++;
                }
            }
            out[j] = s / Math.max(kept, 1);
        }
        return out;
    }

    /**
     * TIES: magnitude pruning, sign election on the pruned tensors, disjoint mean of the weighted ones.
     *
     * @param tensors the task tensors
     * @param weights one weight per tensor
     * @param density the fraction each tensor keeps
     * @param method the sign election
     * @return the merged tensor
     */
    public static double[] ties(double[][] tensors, double[] weights, double density, MajoritySign method) {
        check(tensors, weights);
        double[][] pruned = new double[tensors.length][];
        for (int i = 0; i < tensors.length; i++) {
            pruned[i] = magnitudePrune(tensors[i], density);
        }
        return electAndMerge(pruned, weights, method);
    }

    /**
     * DARE with TIES: random pruning with rescaling, sign election, disjoint mean of the weighted tensors.
     *
     * @param tensors the task tensors
     * @param weights one weight per tensor
     * @param density the keep probability
     * @param method the sign election
     * @param random one source of masks per tensor
     * @return the merged tensor
     */
    public static double[] dareTies(
            double[][] tensors, double[] weights, double density, MajoritySign method, SplittableRandom[] random) {
        check(tensors, weights);
        double[][] pruned = new double[tensors.length][];
        for (int i = 0; i < tensors.length; i++) {
            pruned[i] = randomPrune(tensors[i], density, true, random[i]);
        }
        return electAndMerge(pruned, weights, method);
    }

    /**
     * DARE: random pruning with rescaling, then the weighted sum.
     *
     * @param tensors the task tensors
     * @param weights one weight per tensor
     * @param density the keep probability
     * @param random one source of masks per tensor
     * @return the merged tensor
     */
    public static double[] dareLinear(double[][] tensors, double[] weights, double density, SplittableRandom[] random) {
        check(tensors, weights);
        double[][] pruned = new double[tensors.length][];
        for (int i = 0; i < tensors.length; i++) {
            pruned[i] = randomPrune(tensors[i], density, true, random[i]);
        }
        return taskArithmetic(pruned, weights);
    }

    /**
     * Magnitude pruning of each tensor, then the weighted sum.
     *
     * @param tensors the task tensors
     * @param weights one weight per tensor
     * @param density the fraction each tensor keeps
     * @return the merged tensor
     */
    public static double[] magnitudePruneMerge(double[][] tensors, double[] weights, double density) {
        check(tensors, weights);
        double[][] pruned = new double[tensors.length][];
        for (int i = 0; i < tensors.length; i++) {
            pruned[i] = magnitudePrune(tensors[i], density);
        }
        return taskArithmetic(pruned, weights);
    }

    private static double[] electAndMerge(double[][] pruned, double[] weights, MajoritySign method) {
        boolean[][] mask = majoritySignMask(pruned, method);
        double[][] weighted = new double[pruned.length][];
        for (int i = 0; i < pruned.length; i++) {
            weighted[i] = new double[pruned[i].length];
            for (int j = 0; j < pruned[i].length; j++) {
                weighted[i][j] = pruned[i][j] * weights[i];
            }
        }
        return disjointMerge(weighted, mask);
    }

    private static void requireDensity(double density) {
        if (!(density >= 0)) {
            throw new IllegalArgumentException("density must be ≥ 0 (the fraction of values kept); got " + density);
        }
    }

    private static void check(double[][] tensors, double[] weights) {
        if (tensors.length == 0 || tensors.length != weights.length) {
            throw new IllegalArgumentException("need one weight per task tensor; got " + tensors.length + " tensors, "
                    + weights.length + " weights");
        }
        for (double[] t : tensors) {
            if (t.length != tensors[0].length) {
                throw new IllegalArgumentException(
                        "task tensors must have equal sizes; got " + t.length + " and " + tensors[0].length);
            }
        }
    }
}
