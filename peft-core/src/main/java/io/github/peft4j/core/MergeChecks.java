package io.github.peft4j.core;

import ai.djl.ndarray.NDArray;

/** Checks applied before a merge writes into base weights. */
public final class MergeChecks {

    private MergeChecks() {}

    /**
     * Fails if an array holds NaN or infinite values, so that a diverged adapter is never merged into a model.
     *
     * @param array the array to check
     * @param what what the array is, for the message
     * @throws IllegalStateException if a value is not finite
     */
    public static void requireFinite(NDArray array, String what) {
        try (NDArray bad = array.isNaN().logicalOr(array.isInfinite())) {
            if (bad.any().getBoolean()) {
                throw new IllegalStateException(what + " has NaN or infinite values; refusing to merge it into the"
                        + " base weights (the adapter has probably diverged)");
            }
        }
    }
}
