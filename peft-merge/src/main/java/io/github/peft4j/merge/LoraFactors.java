package io.github.peft4j.merge;

/**
 * One layer of a LoRA adapter as saved: A [rank, in], B [out, rank] (row-major) and the layer's scaling s, so that
 * the layer's update is ΔW = s · B · A.
 *
 * @param a A, row-major [rank, in]
 * @param b B, row-major [out, rank]
 * @param rank the rank
 * @param in the input width
 * @param out the output width
 * @param scaling s (α/r, or α/√r with rsLoRA)
 */
public record LoraFactors(float[] a, float[] b, int rank, int in, int out, double scaling) {

    /** Checks the shapes. */
    public LoraFactors {
        if (rank < 1 || in < 1 || out < 1) {
            throw new IllegalArgumentException("rank, in and out must be ≥ 1; got " + rank + ", " + in + ", " + out);
        }
        if (a.length != (long) rank * in || b.length != (long) out * rank) {
            throw new IllegalArgumentException("A must hold rank·in = " + rank + "·" + in + " and B out·rank = " + out
                    + "·" + rank + " values; got " + a.length + " and " + b.length);
        }
    }

    /**
     * Returns ΔW = s · B · A in float64, row-major [out, in].
     *
     * @return the update
     */
    public double[] deltaWeight() {
        return product(scaling);
    }

    /**
     * Returns B · A without the scaling, row-major [out, in].
     *
     * @return the product
     */
    public double[] unscaledProduct() {
        return product(1.0);
    }

    private double[] product(double s) {
        double[] d = new double[out * in];
        for (int i = 0; i < out; i++) {
            for (int k = 0; k < rank; k++) {
                double bik = s * b[i * rank + k];
                if (bik == 0) {
                    continue;
                }
                for (int j = 0; j < in; j++) {
                    d[i * in + j] += bik * a[k * in + j];
                }
            }
        }
        return d;
    }
}
