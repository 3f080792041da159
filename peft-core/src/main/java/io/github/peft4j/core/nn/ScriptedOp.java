package io.github.peft4j.core.nn;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One libtorch operator that DJL's Java API lacks, reached through a TorchScript module shipped as a resource of this
 * package (written by {@code build-tools/torchscript/make_ops.py}). The module runs inside libtorch with autograd, so
 * gradients flow through it like through any DJL operation; it is loaded once per device and kept for the JVM's life.
 */
final class ScriptedOp {

    /** The engine whose TorchScript runtime the operators need. */
    static final String ENGINE = "PyTorch";

    private final String resource;
    private final Map<Device, Model> loaded = new ConcurrentHashMap<>();

    /**
     * Names an operator.
     *
     * @param resource the file name under {@code ops/} beside this class
     */
    ScriptedOp(String resource) {
        this.resource = resource;
    }

    /** Scalar arguments, on the CPU whatever the device of the tensors (the module reads them with {@code item()}). */
    private static final Map<Double, NDArray> SCALARS = new ConcurrentHashMap<>();

    /**
     * A scalar argument of an operator: a float32 0-d CPU tensor, made once per value and kept for the JVM's life (an
     * operator takes few distinct values, such as a dropout rate), so that no call allocates one or, on a GPU,
     * waits for the device to read it back.
     *
     * @param value the value
     * @return the tensor
     */
    static NDArray scalar(double value) {
        return SCALARS.computeIfAbsent(value, v -> ScalarManager.MANAGER.create(v.floatValue()));
    }

    /** Holds the scalars' manager, made on first use (only when the PyTorch engine runs an operator). */
    private static final class ScalarManager {
        static final NDManager MANAGER = NDManager.newBaseManager(Device.cpu(), ENGINE);
    }

    /**
     * Whether an array can go through a scripted operator (it lives in the PyTorch engine).
     *
     * @param array an input
     * @return true on DJL's PyTorch engine
     */
    static boolean available(NDArray array) {
        return ENGINE.equals(array.getManager().getEngine().getEngineName());
    }

    /**
     * Runs the operator's {@code forward}; the outputs belong to the first input's manager.
     *
     * @param training whether autograd may record (DJL runs the module without autograd otherwise)
     * @param inputs the tensors, in the module's argument order
     * @return the single output
     */
    NDArray apply(boolean training, NDArray... inputs) {
        Device device = inputs[0].getDevice();
        // the Model is kept, not just its block: DJL closes a model's native module when the model is collected
        Block block = loaded.computeIfAbsent(device, this::load).getBlock();
        NDList in = new NDList(inputs);
        ParameterStore store = new ParameterStore(inputs[0].getManager(), false);
        return block.forward(store, in, training).singletonOrThrow();
    }

    private Model load(Device device) {
        // the model stays open for the JVM's life: one small module per operator and device
        Model model = Model.newInstance("peft4j-op-" + resource, device, ENGINE);
        try (InputStream in = ScriptedOp.class.getResourceAsStream("ops/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("peft-core's jar lacks the operator resource ops/" + resource);
            }
            model.load(in);
            return model;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the operator ops/" + resource, e);
        } catch (MalformedModelException e) {
            throw new IllegalStateException("libtorch refused the operator ops/" + resource, e);
        }
    }
}
