package io.github.peft4j.merge;

import java.util.Arrays;
import java.util.Locale;

/**
 * How {@link WeightedCombination} combines adapters: Python PEFT's {@code combination_type} values of
 * {@code add_weighted_adapter}, with its semantics.
 */
public enum CombinationType {
    /** Weighted sum of the A's and of the B's separately (each weighted by √|w·s|, the sign on A); same ranks. */
    LINEAR(false, false, false),
    /** A's (weighted by w·s) and B's stacked: the exact weighted sum of the updates at the sum of the ranks. */
    CAT(false, false, false),
    /** Weighted sum of the updates ΔW, re-factored by a truncated SVD at {@code svd_rank}. */
    SVD(true, false, false),
    /** TIES on the A's and B's: magnitude pruning to {@code density}, majority sign, disjoint mean; same ranks. */
    TIES(false, true, false),
    /** TIES on the updates ΔW, then the SVD. */
    TIES_SVD(true, true, false),
    /** DARE: random pruning to {@code density} with rescaling, then the weighted sum, on the A's and B's. */
    DARE_LINEAR(false, true, true),
    /** DARE's random pruning, then TIES' sign election and disjoint mean, on the A's and B's. */
    DARE_TIES(false, true, true),
    /** DARE on the updates ΔW, then the SVD. */
    DARE_LINEAR_SVD(true, true, true),
    /** DARE + TIES on the updates ΔW, then the SVD. */
    DARE_TIES_SVD(true, true, true),
    /** Magnitude pruning to {@code density}, then the weighted sum, on the A's and B's. */
    MAGNITUDE_PRUNE(false, true, false),
    /** Magnitude pruning of the updates ΔW, the weighted sum, then the SVD. */
    MAGNITUDE_PRUNE_SVD(true, true, false);

    private final boolean svd;
    private final boolean needsDensity;
    private final boolean random;

    CombinationType(boolean svd, boolean needsDensity, boolean random) {
        this.svd = svd;
        this.needsDensity = needsDensity;
        this.random = random;
    }

    /**
     * Whether the result is an SVD of the combined update.
     *
     * @return true for the {@code *_svd} types and {@code svd}
     */
    public boolean isSvd() {
        return svd;
    }

    /**
     * Whether the type prunes and so needs a density.
     *
     * @return true for TIES, DARE and magnitude pruning
     */
    public boolean needsDensity() {
        return needsDensity;
    }

    /**
     * Whether the type draws random masks (DARE), so that its result depends on the seed.
     *
     * @return true for the DARE types
     */
    public boolean isRandom() {
        return random;
    }

    /**
     * Returns Python PEFT's name, e.g. {@code dare_ties_svd}.
     *
     * @return the name
     */
    public String pythonName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses Python PEFT's name (any case).
     *
     * @param name e.g. {@code ties}
     * @return the type
     * @throws IllegalArgumentException listing the accepted names
     */
    public static CombinationType parse(String name) {
        for (CombinationType t : values()) {
            if (t.pythonName().equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown combination type '" + name + "'; one of "
                + Arrays.stream(values()).map(CombinationType::pythonName).toList());
    }
}
