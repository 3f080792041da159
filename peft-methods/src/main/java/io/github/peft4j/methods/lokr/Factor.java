package io.github.peft4j.methods.lokr;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.ParameterValues;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One Kronecker factor of LoKr, [rows, cols]: a full matrix ({@code lokr_w1}) or, when the rank is small against its
 * size, a product of two ({@code lokr_w1_a} [rows, r] · {@code lokr_w1_b} [r, cols]).
 */
final class Factor {

    private final Parameter full;
    private final Parameter a;
    private final Parameter b;

    private Factor(Parameter full, Parameter a, Parameter b) {
        this.full = full;
        this.a = a;
        this.b = b;
    }

    /**
     * Creates the factor's parameters.
     *
     * @param name {@code lokr_w1} or {@code lokr_w2}
     * @param decomposed whether it is a product of two
     * @param rows, cols its shape
     * @param rank r of the product
     * @param zero which part starts at zero: "full", "a", "b" or "" (none)
     */
    static Factor create(
            String name,
            boolean decomposed,
            int rows,
            int cols,
            int rank,
            String zero,
            SplittableRandom r,
            NDManager m,
            NDArray like) {
        if (!decomposed) {
            float[] v = zero.equals("full") ? new float[rows * cols] : ParameterValues.kaimingUniform(r, rows, cols);
            return new Factor(ParameterValues.weight(m, name, v, new Shape(rows, cols), like), null, null);
        }
        float[] av = zero.equals("a") ? new float[rows * rank] : ParameterValues.kaimingUniform(r, rows, rank);
        float[] bv = zero.equals("b") ? new float[rank * cols] : ParameterValues.kaimingUniform(r, rank, cols);
        return new Factor(
                null,
                ParameterValues.weight(m, name + "_a", av, new Shape(rows, rank), like),
                ParameterValues.weight(m, name + "_b", bv, new Shape(rank, cols), like));
    }

    boolean decomposed() {
        return full == null;
    }

    void putParameters(Map<String, Parameter> out) {
        if (full != null) {
            out.put(full.getName(), full);
        } else {
            out.put(a.getName(), a);
            out.put(b.getName(), b);
        }
    }

    /** The factor's value through the store (with gradient when training), temporaries in {@code scope}. */
    NDArray value(ParameterStore store, NDArray input, boolean training, NDManager scope) {
        if (full != null) {
            return store.getValue(full, input.getDevice(), training);
        }
        NDArray p =
                store.getValue(a, input.getDevice(), training).matMul(store.getValue(b, input.getDevice(), training));
        p.attach(scope);
        return p;
    }

    /** The factor's value without gradient, in {@code scope}. */
    NDArray detached(NDManager scope) {
        if (full != null) {
            NDArray v = full.getArray().stopGradient();
            v.attach(scope);
            return v;
        }
        NDArray av = a.getArray().stopGradient();
        av.attach(scope);
        NDArray bv = b.getArray().stopGradient();
        bv.attach(scope);
        return av.matMul(bv);
    }

    void close() {
        if (full != null) {
            full.close();
        } else {
            a.close();
            b.close();
        }
    }
}
