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
    public void dot4(float[] a, int ao, float[] b, int[] bo, int k, int n, float[] acc) {
        int len = S.length();
        int bound = n - n % len;
        int b0 = bo[k];
        int b1 = bo[k + 1];
        int b2 = bo[k + 2];
        int b3 = bo[k + 3];
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        FloatVector s2 = FloatVector.zero(S);
        FloatVector s3 = FloatVector.zero(S);
        int i = 0;
        for (; i < bound; i += len) {
            FloatVector v = FloatVector.fromArray(S, a, ao + i);
            s0 = v.fma(FloatVector.fromArray(S, b, b0 + i), s0);
            s1 = v.fma(FloatVector.fromArray(S, b, b1 + i), s1);
            s2 = v.fma(FloatVector.fromArray(S, b, b2 + i), s2);
            s3 = v.fma(FloatVector.fromArray(S, b, b3 + i), s3);
        }
        acc[k] += s0.reduceLanes(VectorOperators.ADD);
        acc[k + 1] += s1.reduceLanes(VectorOperators.ADD);
        acc[k + 2] += s2.reduceLanes(VectorOperators.ADD);
        acc[k + 3] += s3.reduceLanes(VectorOperators.ADD);
        if (i < n) {
            PlainFloatOps.dot4Range(a, ao, b, bo, k, i, n, acc);
        }
    }

    @Override
    public String name() {
        return "vector(" + S.vectorBitSize() + " bits)";
    }
}
