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
    public void dot4(float[] a, int ao, float[] b, int[] bo, int k, int n, float[] acc) {
        dot4Range(a, ao, b, bo, k, 0, n, acc);
    }

    /**
     * acc[k + j] += Σ a[ao + i] · b[bo[k + j] + i] for j in [0, 4), i in [from, to): the portable loop, also the
     * Vector API's tail.
     */
    static void dot4Range(float[] a, int ao, float[] b, int[] bo, int k, int from, int to, float[] acc) {
        int b0 = bo[k];
        int b1 = bo[k + 1];
        int b2 = bo[k + 2];
        int b3 = bo[k + 3];
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        for (int i = from; i < to; i++) {
            float v = a[ao + i];
            s0 += v * b[b0 + i];
            s1 += v * b[b1 + i];
            s2 += v * b[b2 + i];
            s3 += v * b[b3 + i];
        }
        acc[k] += s0;
        acc[k + 1] += s1;
        acc[k + 2] += s2;
        acc[k + 3] += s3;
    }

    @Override
    public String name() {
        return "plain";
    }
}
