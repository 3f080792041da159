package io.github.peft4j.core;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import java.util.SplittableRandom;

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

    /**
     * Creates an array from Java values in memory the engine owns, in the data type and on the device of another
     * array: what an adapter's initial parameter values should be. ({@code NDManager.create(float[])} alone leaves
     * the tensor on a Java buffer that must never be freed while the engine uses it; see {@link Scalars}.)
     *
     * @param manager owns the result
     * @param values row-major values
     * @param shape the shape
     * @param like the array whose type and device the result takes
     * @return the array
     */
    public static NDArray create(NDManager manager, float[] values, Shape shape, NDArray like) {
        try (NDArray javaBacked = manager.create(values, shape)) {
            return engineCopy(javaBacked, like.getDataType(), like.getDevice(), manager);
        }
    }

    /**
     * Creates an INT32 array from Java values in memory the engine owns, on a device: indices that an adapter keeps
     * (as a parameter or for autograd's backward pass).
     *
     * @param manager owns the result
     * @param values the values, a 1-d array
     * @param device the device of the result
     * @return the array
     */
    public static NDArray create(NDManager manager, int[] values, Device device) {
        try (NDArray javaBacked = manager.create(values)) {
            return engineCopy(javaBacked, DataType.INT32, device, manager);
        }
    }

    /**
     * Copies an array into memory the engine owns, in a data type and on a device.
     *
     * @param javaBacked the values (possibly on a Java buffer); the caller closes it
     * @param type the data type of the copy
     * @param device the device of the copy
     * @param manager owns the copy
     * @return the copy
     */
    static NDArray engineCopy(NDArray javaBacked, DataType type, Device device, NDManager manager) {
        NDArray typed = javaBacked.toType(type, false);
        try {
            NDArray owned = typed.getDevice().equals(device)
                    ? typed.duplicate() // clone: engine-owned memory
                    : typed.toDevice(device, true);
            owned.attach(manager);
            return owned;
        } finally {
            if (typed != javaBacked) {
                typed.close();
            }
        }
    }

    /**
     * Creates a trainable parameter ({@code WEIGHT}) holding Java values, in the type and on the device of
     * {@code like}.
     *
     * @param manager owns the array
     * @param name the parameter's name (its Hugging Face name inside the module, e.g. {@code hada_w1_a})
     * @param values row-major values
     * @param shape the shape
     * @param like the array whose type and device the result takes
     * @return the parameter
     */
    public static Parameter weight(NDManager manager, String name, float[] values, Shape shape, NDArray like) {
        return Parameter.builder()
                .setName(name)
                .setType(Parameter.Type.WEIGHT)
                .optArray(create(manager, values, shape, like))
                .build();
    }

    /**
     * Draws a [rows, cols] weight as torch's default {@code kaiming_uniform_(a=√5)} does in distribution:
     * U(−1/√cols, 1/√cols).
     *
     * @param random the stream
     * @param rows the first dimension
     * @param cols the second dimension (the fan-in)
     * @return row-major values
     */
    public static float[] kaimingUniform(SplittableRandom random, int rows, int cols) {
        double bound = 1 / Math.sqrt(cols);
        float[] v = new float[Math.multiplyExact(rows, cols)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
        }
        return v;
    }

    /**
     * Draws one standard normal value (Box–Muller: √(−2 ln(1 − u₁)) · cos(2π u₂), u₁ drawn first), the one Gaussian
     * draw every method's random initialisation uses.
     *
     * @param random the stream
     * @return a value from N(0, 1)
     */
    public static double gaussian(SplittableRandom random) {
        double u1 = random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }
}
