package io.github.peft4j.core.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.lang.reflect.Field;
import java.nio.FloatBuffer;

/**
 * A linear layer {@code y = x Wᵀ + b} that can keep a frozen weight in bfloat16: after {@link #storeWeightInBf16()}
 * the weight is held as float16 values that are exactly the weight rounded to bf16 (DJL 0.36's stock natives abort
 * on a bf16 tensor, float16 they know), and the product runs in bf16 inside libtorch through a TorchScript operator
 * ({@code ops/linear_bf16.pt}): x is rounded to bf16, the GEMM accumulates in fp32 and its result is rounded to bf16,
 * the bias (kept in fp32) is added after. Autograd records the casts, so the gradient of x flows back in fp32 to
 * whatever came before (an adapter of an earlier layer); W gets none, as it is frozen.
 *
 * <p>Until then it is DJL's {@link Linear}. The models of {@code peft-models} build their linear layers with it.
 */
public class MixedLinear extends Linear {

    private static final ScriptedOp LINEAR_BF16 = new ScriptedOp("linear_bf16.pt");

    /** The largest finite float16 value: a bf16 weight beyond it cannot be held in the float16 container. */
    static final float FLOAT16_MAX = 65504f;

    private boolean bf16;
    private NDArray zeroBias;

    /**
     * Creates a layer.
     *
     * @param builder DJL's linear builder (units, bias)
     */
    protected MixedLinear(Linear.Builder builder) {
        super(builder);
    }

    /**
     * Returns a layer of {@code units} outputs.
     *
     * @param units the output width
     * @param bias whether the layer has a bias
     * @return a new layer
     */
    public static MixedLinear of(long units, boolean bias) {
        return new MixedLinear(Linear.builder().setUnits(units).optBias(bias));
    }

    /**
     * Whether the weight is held in bf16 ({@link #storeWeightInBf16()} was called).
     *
     * @return true once stored in bf16
     */
    public boolean storesWeightInBf16() {
        return bf16;
    }

    /**
     * Replaces the weight's float32 array by its bf16 rounding (round to nearest even), held as float16, and closes
     * the float32 array: half the weight's memory. Only for a frozen weight: nothing updates it afterwards.
     *
     * @throws IllegalStateException if the weight requires gradients or is not float32, or a weight rounds beyond
     *     float16's range (|w| > 65504), which the container cannot hold
     */
    public void storeWeightInBf16() {
        if (bf16) {
            return;
        }
        Parameter weight = getDirectParameters().get("weight");
        NDArray w = weight.getArray();
        if (weight.requiresGradient()) {
            throw new IllegalStateException("a bf16 weight must be frozen; this layer's weight " + w.getShape()
                    + " requires gradients (it is trained)");
        }
        if (w.getDataType() != DataType.FLOAT32) {
            throw new IllegalStateException("only a float32 weight can be stored in bf16; got " + w.getDataType());
        }
        NDArray f32 = Device.Type.CPU.equals(w.getDevice().getDeviceType()) ? w : w.toDevice(Device.cpu(), true);
        // round in place through a zero-copy view of the (frozen, about to be dropped) float32 tensor: no Java copy
        FloatBuffer v = f32.toByteBuffer(true).asFloatBuffer();
        for (int i = 0; i < v.limit(); i++) { // check everything before changing anything
            if (Math.abs(roundToBf16(v.get(i))) > FLOAT16_MAX) {
                if (f32 != w) {
                    f32.close();
                }
                throw new IllegalStateException("weight entry " + i + " of " + w.getShape() + " is " + v.get(i)
                        + ": beyond the float16 range (65504) that holds bf16 weights here; keep this layer in fp32");
            }
        }
        for (int i = 0; i < v.limit(); i++) {
            v.put(i, roundToBf16(v.get(i)));
        }
        NDArray stored = f32.toType(DataType.FLOAT16, false);
        if (f32 != w) {
            f32.close();
            NDArray onDevice = stored.toDevice(w.getDevice(), false);
            stored.close();
            stored = onDevice;
        }
        stored.attach(w.getManager());
        replaceArray(weight, stored);
        w.close();
        bf16 = true;
    }

    /**
     * Gives a parameter a new array of the same shape: DJL's {@link Parameter#setArray} refuses once a shape is set,
     * and the parameter object must stay the same (adapters and optimizers hold it), so its shape field is cleared
     * first (DJL's classes are on the class path or an automatic module, both open to reflection).
     */
    private static void replaceArray(Parameter parameter, NDArray array) {
        try {
            Field shape = Parameter.class.getDeclaredField("shape");
            shape.setAccessible(true);
            shape.set(parameter, null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException(
                    "cannot replace the array of parameter '" + parameter.getName()
                            + "': DJL's Parameter changed (expected a private field 'shape')",
                    e);
        }
        parameter.setArray(array);
    }

    /**
     * Rounds a float to the nearest bf16 value (ties to even), returned as a float; NaN stays NaN.
     *
     * @param f the value
     * @return the bf16 value
     */
    public static float roundToBf16(float f) {
        if (Float.isNaN(f)) {
            return f;
        }
        int bits = Float.floatToRawIntBits(f);
        bits += 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(bits & 0xFFFF0000);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore, NDList inputs, boolean training, PairList<String, Object> params) {
        if (!bf16) {
            return super.forwardInternal(parameterStore, inputs, training, params);
        }
        NDArray x = inputs.singletonOrThrow();
        Device device = x.getDevice();
        NDArray w = parameterStore.getValue(getDirectParameters().get("weight"), device, training);
        Parameter biasParameter = getDirectParameters().get("bias");
        NDArray b = biasParameter == null ? zeroBias(x) : parameterStore.getValue(biasParameter, device, training);
        if (ScriptedOp.available(x) && w.getDataType() == DataType.FLOAT16) {
            return new NDList(LINEAR_BF16.apply(training, x, w, b));
        }
        // another engine, or a store that handed back a float32 weight: the same function without bf16 rounding
        return linear(x, w.toType(x.getDataType(), false), b);
    }

    private NDArray zeroBias(NDArray x) {
        if (zeroBias == null || !zeroBias.getDevice().equals(x.getDevice())) {
            zeroBias = getDirectParameters()
                    .get("weight")
                    .getArray()
                    .getManager()
                    .zeros(new Shape(), DataType.FLOAT32, x.getDevice());
        }
        return zeroBias;
    }
}
