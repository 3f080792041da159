package io.github.peft4j.methods.vera;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import io.github.peft4j.core.ParameterValues;

/**
 * The frozen random pair VeRA's layers share: A [r, largest in] and B [largest out, r], drawn as Python PEFT draws them
 * from {@code projection_prng_key} (Kaiming-uniform, A then B, from one generator; {@link TorchUniform}). Each layer
 * reads the top-left part it needs. Closed once, by whichever of its layers closes first.
 */
final class VeraProjection implements AutoCloseable {

    private final Parameter a;
    private final Parameter b;
    private boolean closed;

    VeraProjection(NDManager manager, int rank, long maxIn, long maxOut, long key, NDArray like) {
        int in = Math.toIntExact(maxIn);
        int out = Math.toIntExact(maxOut);
        TorchUniform g = new TorchUniform(key);
        float[] av = g.kaiming(rank, in);
        float[] bv = g.kaiming(out, rank);
        a = frozen(manager, "vera_A", av, new Shape(rank, in), like);
        b = frozen(manager, "vera_B", bv, new Shape(out, rank), like);
    }

    private static Parameter frozen(NDManager m, String name, float[] v, Shape shape, NDArray like) {
        Parameter p = Parameter.builder()
                .setName(name)
                .setType(Parameter.Type.OTHER)
                .optRequiresGrad(false)
                .optArray(ParameterValues.create(m, v, shape, like))
                .build();
        p.freeze(true);
        return p;
    }

    /** A [r, largest in]. */
    Parameter a() {
        return a;
    }

    /** B [largest out, r]. */
    Parameter b() {
        return b;
    }

    /** The widest input any layer may read. */
    long maxIn() {
        return a.getArray().getShape().get(1);
    }

    /** The widest output any layer may read. */
    long maxOut() {
        return b.getArray().getShape().get(0);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            a.close();
            b.close();
        }
    }
}
