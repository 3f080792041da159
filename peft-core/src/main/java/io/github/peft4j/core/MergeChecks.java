package io.github.peft4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/** Writing an adapter's update into base weights safely: additive merges, and the checks before any merge. */
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

    /**
     * Fails unless a base weight is float32: an update merged into a weight held in bf16 (or any narrower type) would
     * be rounded away and could not be unmerged exactly.
     *
     * @param weight the base weight
     * @throws IllegalStateException if it is not float32
     */
    public static void requireFloat32(NDArray weight) {
        if (weight.getDataType() != DataType.FLOAT32) {
            String held = weight.getDataType() == DataType.FLOAT16
                    ? "in bf16 (Bf16Base, --precision bf16)"
                    : "as " + weight.getDataType();
            throw new IllegalStateException("cannot merge into a base weight " + weight.getShape() + " held " + held
                    + ": the update would be rounded away; load the base model in float32 to merge, e.g. `peft"
                    + " merge`");
        }
    }

    /**
     * Adds an update to a weight in place, after checking that it is finite: the merge of every additive method.
     *
     * @param weight the base weight, modified
     * @param delta computes ΔW in the manager it is given
     */
    public static void mergeAdditive(NDArray weight, java.util.function.Function<NDManager, NDArray> delta) {
        requireFloat32(weight);
        try (NDManager scope = weight.getManager().newSubManager()) {
            NDArray d = delta.apply(scope);
            requireFinite(d, "ΔW");
            weight.addi(d);
        }
    }

    /**
     * Subtracts an update from a weight in place: the unmerge of every additive method.
     *
     * @param weight the merged weight, modified
     * @param delta computes ΔW in the manager it is given
     */
    public static void unmergeAdditive(NDArray weight, java.util.function.Function<NDManager, NDArray> delta) {
        requireFloat32(weight);
        try (NDManager scope = weight.getManager().newSubManager()) {
            weight.subi(delta.apply(scope));
        }
    }
}
