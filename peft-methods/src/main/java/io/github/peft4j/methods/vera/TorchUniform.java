package io.github.peft4j.methods.vera;

/**
 * Draws what {@code torch.empty(shape).uniform_(from, to, generator=torch.Generator().manual_seed(seed))} draws on the
 * CPU, bit for bit: PyTorch's Mersenne Twister (MT19937, seeded as {@code init_genrand}) and its float conversion (the
 * low 24 bits of each 32-bit draw, scaled by 2⁻²⁴ and mapped to [from, to) in double, then rounded to float). VeRA's
 * shared projections are regenerated from the saved {@code projection_prng_key} with it.
 */
final class TorchUniform {

    private static final int N = 624;
    private static final int M = 397;
    private static final int MATRIX_A = 0x9908b0df;
    private static final int UPPER = 0x80000000;
    private static final int LOWER = 0x7fffffff;

    private final int[] mt = new int[N];
    private int index = N;

    /**
     * Seeds the generator as {@code torch.Generator().manual_seed(seed)} does.
     *
     * @param seed the seed (its low 32 bits are used, as PyTorch does)
     */
    TorchUniform(long seed) {
        mt[0] = (int) seed;
        for (int i = 1; i < N; i++) {
            mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
        }
    }

    /** The next 32-bit draw, as an int holding the unsigned bits. */
    int nextInt() {
        if (index >= N) {
            twist();
        }
        int y = mt[index++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y;
    }

    private void twist() {
        for (int i = 0; i < N; i++) {
            int y = (mt[i] & UPPER) | (mt[(i + 1) % N] & LOWER);
            mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ ((y & 1) != 0 ? MATRIX_A : 0);
        }
        index = 0;
    }

    /**
     * Fills a new array with uniform draws in [from, to), in PyTorch's order (row-major).
     *
     * @param count the number of values
     * @param from the lower bound (rounded to float first, as PyTorch does for a float tensor)
     * @param to the upper bound
     * @return the values
     */
    float[] uniform(int count, double from, double to) {
        double lo = (float) from;
        double hi = (float) to;
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            double u = (nextInt() & 0xFFFFFF) * 0x1p-24;
            out[i] = (float) (u * (hi - lo) + lo);
        }
        return out;
    }

    /**
     * Kaiming-uniform of a [rows, cols] tensor as Python VeRA's {@code _kaiming_init}: gain √2, fan-in cols, bound
     * √3 · √2 / √cols.
     *
     * @param rows the first dimension
     * @param cols the second dimension (the fan-in)
     * @return row-major values
     */
    float[] kaiming(int rows, int cols) {
        double bound = Math.sqrt(3.0) * (Math.sqrt(2) / Math.sqrt(cols));
        return uniform(Math.multiplyExact(rows, cols), -bound, bound);
    }
}
