package io.github.peft4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;

/** Writing values into parameter arrays outside autograd. */
public final class ParameterValues {

    private ParameterValues() {}

    /**
     * Copies values into a parameter array in place, without recording an autograd operation (so it works on
     * parameters that require gradients), converting the data type if needed.
     *
     * @param dst the parameter array
     * @param src the values, of the same shape
     */
    public static void copyInto(NDArray dst, NDArray src) {
        NDArray value = src.getDataType() == dst.getDataType() ? src : src.toType(dst.getDataType(), false);
        try (NDArray view = dst.stopGradient()) {
            view.set(new NDIndex("..."), value);
        } finally {
            if (value != src) {
                value.close();
            }
        }
    }
}
