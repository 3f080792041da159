package io.github.peft4j.sparse.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Inner loops on the JDK Vector API (incubating in Java 17: the JVM needs {@code --add-modules
 * jdk.incubator.vector}). Loaded reflectively by {@link SparseKernels} only when that module is present, so the
 * library runs without it.
 */
final class VectorFloatOps implements FloatOps {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    VectorFloatOps() {}

    @Override
    public float dot(float[] a, int ao, float[] b, int bo, int n) {
        int len = S.length();
        int bound = n - n % (2 * len);
        FloatVector acc0 = FloatVector.zero(S);
        FloatVector acc1 = FloatVector.zero(S);
        int i = 0;
        for (; i < bound; i += 2 * len) {
            acc0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc0);
            acc1 = FloatVector.fromArray(S, a, ao + i + len).fma(FloatVector.fromArray(S, b, bo + i + len), acc1);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[ao + i] * b[bo + i];
        }
        return s;
    }

    @Override
    public String name() {
        return "vector(" + S.vectorBitSize() + " bits)";
    }
}
