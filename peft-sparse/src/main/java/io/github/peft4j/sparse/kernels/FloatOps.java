package io.github.peft4j.sparse.kernels;

/**
 * The inner loops of the sparse kernels: dot products over contiguous float runs. Two implementations:
 * {@code PlainFloatOps} (portable Java, four accumulators) and {@code VectorFloatOps} (the JDK Vector API, used when
 * the JVM runs with {@code --add-modules jdk.incubator.vector}).
 */
interface FloatOps {

    /** Σ a[ao + i] · b[bo + i] for i in [0, n). */
    float dot(float[] a, int ao, float[] b, int bo, int n);

    /** A short name for reports: "plain" or "vector(256 bits)". */
    String name();
}
