package io.github.peft4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.function.UnaryOperator;

/**
 * Arithmetic between an array and a constant that stays correct under autograd.
 *
 * <p>Why this exists: on the PyTorch engine, {@code NDArray.mul(Number)} (and {@code div}, {@code pow}, {@code add},
 * ... with a {@code Number}) wraps the constant in a 0-d tensor whose memory is a Java direct buffer
 * ({@code from_blob}, no copy), runs the operation and closes that tensor at once. Autograd keeps the constant for the
 * backward pass ({@code x · c} needs {@code c} to compute {@code ∂/∂x}); once the garbage collector frees the buffer,
 * the backward pass reads freed memory and the gradient is silently wrong, or NaN. The constants made here are copied
 * into memory libtorch owns, so autograd keeps them alive for as long as it needs them. peft4j never passes a
 * {@code Number} to NDArray arithmetic (a test scans the compiled classes of every module for it).
 */
public final class Scalars {

    private Scalars() {}

    /**
     * Returns a 0-d array holding {@code value} in the data type and on the device of {@code like}, in memory owned by
     * the engine, attached to {@code like}'s manager.
     *
     * @param like the array whose type and device the constant takes
     * @param value the value
     * @return the constant; closing it is safe even while autograd still uses it
     */
    public static NDArray of(NDArray like, double value) {
        NDManager m = like.getManager();
        DataType type = like.getDataType();
        if (type != DataType.FLOAT64 && like.getDevice().equals(m.getDevice())) {
            return m.full(new Shape(), (float) value, type); // one engine call, engine-owned memory
        }
        try (NDArray javaBacked = type == DataType.FLOAT64 ? m.create(value) : m.create((float) value)) {
            return ParameterValues.engineCopy(javaBacked, type, like.getDevice(), m);
        }
    }

    private static NDArray with(NDArray x, double c, UnaryOperator<NDArray> op) {
        try (NDArray s = of(x, c)) {
            return op.apply(s);
        }
    }

    /**
     * Returns {@code x · c}.
     *
     * @param x the array
     * @param c the constant
     * @return a new array, in {@code x}'s manager
     */
    public static NDArray mul(NDArray x, double c) {
        return with(x, c, x::mul);
    }

    /**
     * Returns {@code x / c}.
     *
     * @param x the array
     * @param c the constant
     * @return a new array, in {@code x}'s manager
     */
    public static NDArray div(NDArray x, double c) {
        return with(x, c, x::div);
    }

    /**
     * Returns {@code x + c}.
     *
     * @param x the array
     * @param c the constant
     * @return a new array, in {@code x}'s manager
     */
    public static NDArray add(NDArray x, double c) {
        return with(x, c, x::add);
    }

    /**
     * Returns {@code x − c}.
     *
     * @param x the array
     * @param c the constant
     * @return a new array, in {@code x}'s manager
     */
    public static NDArray sub(NDArray x, double c) {
        return with(x, c, x::sub);
    }

    /**
     * Returns {@code x ^ c}.
     *
     * @param x the array
     * @param c the exponent
     * @return a new array, in {@code x}'s manager
     */
    public static NDArray pow(NDArray x, double c) {
        return with(x, c, x::pow);
    }

    /**
     * Multiplies in place: {@code x ← x · c} (outside autograd: optimizer updates, gradient clipping).
     *
     * @param x the array, modified
     * @param c the constant
     * @return {@code x}
     */
    public static NDArray muli(NDArray x, double c) {
        return with(x, c, x::muli);
    }

    /**
     * Adds in place: {@code x ← x + c}.
     *
     * @param x the array, modified
     * @param c the constant
     * @return {@code x}
     */
    public static NDArray addi(NDArray x, double c) {
        return with(x, c, x::addi);
    }

    /**
     * Sets every element of an array to a constant in place, outside autograd (e.g. zeroing a gradient).
     *
     * @param x the array, modified
     * @param c the constant
     */
    public static void fill(NDArray x, double c) {
        try (NDArray s = of(x, c);
                NDArray view = x.stopGradient()) {
            view.set(new ai.djl.ndarray.index.NDIndex("..."), s);
        }
    }
}
