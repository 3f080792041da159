package io.github.peft4j.sparse.kernels;

/** Portable inner loops: four independent accumulators so the JIT can pipeline (and often auto-vectorize). */
final class PlainFloatOps implements FloatOps {

    static final PlainFloatOps INSTANCE = new PlainFloatOps();

    private PlainFloatOps() {}

    @Override
    public float dot(float[] a, int ao, float[] b, int bo, int n) {
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            s0 += a[ao + i] * b[bo + i];
            s1 += a[ao + i + 1] * b[bo + i + 1];
            s2 += a[ao + i + 2] * b[bo + i + 2];
            s3 += a[ao + i + 3] * b[bo + i + 3];
        }
        for (; i < n; i++) {
            s0 += a[ao + i] * b[bo + i];
        }
        return (s0 + s1) + (s2 + s3);
    }

    @Override
    public String name() {
        return "plain";
    }
}
