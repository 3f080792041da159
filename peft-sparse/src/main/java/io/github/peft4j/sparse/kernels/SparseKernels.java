package io.github.peft4j.sparse.kernels;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CPU kernels for sparse fine-tuning on a weight W [out, in] whose trainable entries are given by flat row-major
 * indices {@code idx[k] = row · in + col}. All arrays are row-major float32.
 *
 * <ul>
 *   <li>{@link #sddmm}: the values' gradient {@code grad[k] = Σ_n g[n, row_k] · x[n, col_k]} straight from the
 *       layer's output gradient g [n, out] and input x [n, in], never forming the dense [out, in] gradient;
 *   <li>{@link #gather} / {@link #scatter}: between dense W and the values;
 *   <li>{@link #sparseDeltaForward}: {@code y += x Δᵀ} for a sparse Δ, for low densities;
 *   <li>{@link #smallestMagnitude}: the positions of the smallest |W| without sorting W (a two-pass radix select).
 * </ul>
 *
 * <p>Each kernel spreads its work over the common fork-join pool (all cores) when it is large enough, and uses the
 * JDK Vector API for its inner loops when the JVM runs with {@code --add-modules jdk.incubator.vector} (an incubator
 * module in Java 17), else portable Java: {@link #best()} picks, {@link #plain()} forces the portable loops.
 * {@link SparseReference} holds the plain scalar definitions the tests compare every kernel against.
 */
public final class SparseKernels {

    private static final Logger LOG = LoggerFactory.getLogger(SparseKernels.class);

    /** Work (multiply-adds) below which a kernel stays on the calling thread. */
    private static final long PARALLEL_WORK = 1L << 16;

    /**
     * {@link #sddmm} uses the token-blocked form when nnz ≥ this × (out + in): its transposition of each token block
     * costs n·(out + in) copies, which pays off once each transposed row serves a few entries. Measured with
     * {@code SddmmBenchmark.sddmmStreaming/sddmmBlocked} (docs/sparse.md).
     */
    static final double BLOCKED_CROSSOVER = 0.1;

    /** Tokens per block of {@link #sddmmBlocked}: [out, T] and [in, T] scratch stay in a core's L2 cache. */
    static final int TOKEN_BLOCK = 64;

    private static final SparseKernels PLAIN = new SparseKernels(PlainFloatOps.INSTANCE);
    private static final SparseKernels BEST = new SparseKernels(loadVectorOps());

    private final FloatOps ops;

    private SparseKernels(FloatOps ops) {
        this.ops = ops;
    }

    private static FloatOps loadVectorOps() {
        if (Boolean.getBoolean("peft4j.noVector")
                || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            LOG.debug("jdk.incubator.vector not present: sparse kernels use portable Java loops (start the JVM with"
                    + " --add-modules jdk.incubator.vector to use the Vector API)");
            return PlainFloatOps.INSTANCE;
        }
        try {
            return Class.forName("io.github.peft4j.sparse.kernels.VectorFloatOps")
                    .asSubclass(FloatOps.class)
                    .getDeclaredConstructor()
                    .newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            LOG.warn("Vector API present but not usable ({}); sparse kernels use portable Java loops", e.toString());
            return PlainFloatOps.INSTANCE;
        }
    }

    /**
     * Returns the fastest kernels available in this JVM.
     *
     * @return Vector API kernels if {@code jdk.incubator.vector} is present, else the portable ones
     */
    public static SparseKernels best() {
        return BEST;
    }

    /**
     * Returns the portable kernels (no Vector API).
     *
     * @return the kernels
     */
    public static SparseKernels plain() {
        return PLAIN;
    }

    /**
     * Returns which inner loops these kernels use.
     *
     * @return {@code plain} or {@code vector(N bits)}
     */
    public String implementation() {
        return ops.name();
    }

    // ------------------------------------------------------------------ SDDMM

    /**
     * The gradient of the selected weight entries: {@code dst[k] = Σ_n g[n, row_k] · x[n, col_k]} with
     * {@code row_k = idx[k] / in}, {@code col_k = idx[k] % in}. Reads g and x where they are (a direct buffer over
     * libtorch's memory from {@code NDArray.toByteBuffer(true)}, or a wrapped array) and picks the streaming or the
     * token-blocked form by density.
     *
     * @param g output gradient [n, out], row-major, read from index 0
     * @param x layer input [n, in], row-major, read from index 0
     * @param n tokens (rows of g and x)
     * @param out output features
     * @param in input features
     * @param idx flat indices into [out, in]
     * @param dst receives the nnz = idx.length values
     */
    public void sddmm(FloatBuffer g, FloatBuffer x, int n, int out, int in, int[] idx, float[] dst) {
        if (idx.length >= BLOCKED_CROSSOVER * (out + in)) {
            sddmmBlocked(g, x, n, out, in, idx, dst);
        } else {
            sddmmStreaming(g, x, n, out, in, idx, dst);
        }
    }

    /**
     * SDDMM streaming over tokens: for every token, every selected entry accumulates one product. No scratch beyond
     * one accumulator per entry; best at very low densities, where the blocked form's transposition of every token
     * block would cost more than the products.
     *
     * @param g output gradient [n, out]
     * @param x layer input [n, in]
     * @param n tokens
     * @param out output features
     * @param in input features
     * @param idx flat indices into [out, in]
     * @param dst receives the values
     */
    public void sddmmStreaming(FloatBuffer g, FloatBuffer x, int n, int out, int in, int[] idx, float[] dst) {
        checkSddmm(g, x, n, out, in, idx, dst);
        int nnz = idx.length;
        int[] rows = new int[nnz];
        int[] cols = new int[nnz];
        split(idx, in, rows, cols);
        forChunks(nnz, (long) nnz * n, (from, to) -> {
            float[] acc = new float[to - from];
            for (int t = 0; t < n; t++) {
                int go = t * out;
                int xo = t * in;
                for (int k = from; k < to; k++) {
                    acc[k - from] += g.get(go + rows[k]) * x.get(xo + cols[k]);
                }
            }
            System.arraycopy(acc, 0, dst, from, to - from);
        });
    }

    /**
     * SDDMM over blocks of {@link #TOKEN_BLOCK} tokens: each block of g and x is transposed into a small scratch that
     * stays in the core's cache ([out, T] and [in, T]), and each selected entry adds one contiguous dot product of
     * length T (Vector API when available). Threads take disjoint
     * token ranges with their own accumulators. Nothing of the size of g or x is allocated.
     *
     * @param g output gradient [n, out]
     * @param x layer input [n, in]
     * @param n tokens
     * @param out output features
     * @param in input features
     * @param idx flat indices into [out, in]
     * @param dst receives the values
     */
    public void sddmmBlocked(FloatBuffer g, FloatBuffer x, int n, int out, int in, int[] idx, float[] dst) {
        checkSddmm(g, x, n, out, in, idx, dst);
        final int tb = TOKEN_BLOCK;
        int nnz = idx.length;
        int[] gOff = new int[nnz];
        int[] xOff = new int[nnz];
        for (int k = 0; k < nnz; k++) {
            int r = idx[k] / in;
            gOff[k] = r * tb;
            xOff[k] = (idx[k] - r * in) * tb;
        }
        int blocks = (n + tb - 1) / tb;
        int threads = java.util.concurrent.ForkJoinPool.getCommonPoolParallelism() + 1;
        long work = (long) nnz * n + (long) n * (out + in);
        int parts = work < PARALLEL_WORK ? 1 : Math.min(blocks, threads);
        float[][] partial = new float[parts][];
        IntStream.range(0, parts).parallel().forEach(p -> {
            float[] acc = new float[nnz];
            float[] gt = new float[out * tb];
            float[] xt = new float[in * tb];
            float[] rows = new float[tb * Math.max(out, in)];
            for (int b = (int) ((long) blocks * p / parts); b < (long) blocks * (p + 1) / parts; b++) {
                int t0 = b * tb;
                int len = Math.min(tb, n - t0);
                transposeBlock(g, t0, len, out, rows, gt, tb);
                transposeBlock(x, t0, len, in, rows, xt, tb);
                for (int k = 0; k < nnz; k++) {
                    acc[k] += ops.dot(gt, gOff[k], xt, xOff[k], len);
                }
            }
            partial[p] = acc;
        });
        System.arraycopy(partial[0], 0, dst, 0, nnz);
        for (int p = 1; p < parts; p++) {
            float[] acc = partial[p];
            for (int k = 0; k < nnz; k++) {
                dst[k] += acc[k];
            }
        }
    }

    /**
     * Rows [t0, t0 + len) of a row-major [*, width] buffer into dst[c · stride + t]: one bulk read of the rows (they
     * are contiguous), then a transposition in strips of 8 columns, whose 8 destination runs stay in L1 while the
     * strip is written.
     */
    private static void transposeBlock(
            FloatBuffer src, int t0, int len, int width, float[] rows, float[] dst, int stride) {
        src.get(t0 * width, rows, 0, len * width);
        int c0 = 0;
        for (; c0 + 8 <= width; c0 += 8) {
            int o = c0 * stride;
            for (int t = 0, ro = c0; t < len; t++, ro += width) {
                dst[o + t] = rows[ro];
                dst[o + stride + t] = rows[ro + 1];
                dst[o + 2 * stride + t] = rows[ro + 2];
                dst[o + 3 * stride + t] = rows[ro + 3];
                dst[o + 4 * stride + t] = rows[ro + 4];
                dst[o + 5 * stride + t] = rows[ro + 5];
                dst[o + 6 * stride + t] = rows[ro + 6];
                dst[o + 7 * stride + t] = rows[ro + 7];
            }
        }
        for (; c0 < width; c0++) {
            for (int t = 0; t < len; t++) {
                dst[c0 * stride + t] = rows[t * width + c0];
            }
        }
    }

    private static void checkSddmm(FloatBuffer g, FloatBuffer x, int n, int out, int in, int[] idx, float[] dst) {
        requireLength("g", g.limit(), (long) n * out);
        requireLength("x", x.limit(), (long) n * in);
        if (dst.length < idx.length) {
            throw new IllegalArgumentException(
                    "dst holds " + dst.length + " values, fewer than the " + idx.length + " indices");
        }
        checkIndices(idx, (long) out * in);
    }

    // ------------------------------------------------------------------ gather / scatter

    /**
     * {@code dst[k] = w[idx[k]]}.
     *
     * @param w the dense weight, flat
     * @param idx flat indices
     * @param dst receives the values
     */
    public void gather(float[] w, int[] idx, float[] dst) {
        checkIndices(idx, w.length);
        forChunks(idx.length, idx.length, (from, to) -> {
            for (int k = from; k < to; k++) {
                dst[k] = w[idx[k]];
            }
        });
    }

    /**
     * {@code w[idx[k]] = values[k]}, in place.
     *
     * @param values the values
     * @param idx flat indices (distinct)
     * @param w the dense weight, flat, modified
     */
    public void scatter(float[] values, int[] idx, float[] w) {
        checkIndices(idx, w.length);
        forChunks(idx.length, idx.length, (from, to) -> {
            for (int k = from; k < to; k++) {
                w[idx[k]] = values[k];
            }
        });
    }

    // ------------------------------------------------------------------ sparse-delta forward

    /**
     * {@code y += x Δᵀ} for a sparse Δ [out, in] with values {@code delta} at {@code idx}: y [n, out], x [n, in].
     * Costs nnz·n multiply-adds instead of the dense product's out·in·n.
     *
     * @param x input [n, in]
     * @param n tokens
     * @param in input features
     * @param out output features
     * @param idx flat indices into [out, in]
     * @param delta Δ's values
     * @param y output [n, out], accumulated in place
     */
    public void sparseDeltaForward(float[] x, int n, int in, int out, int[] idx, float[] delta, float[] y) {
        requireLength("x", x.length, (long) n * in);
        requireLength("y", y.length, (long) n * out);
        checkIndices(idx, (long) out * in);
        int nnz = idx.length;
        int[] rows = new int[nnz];
        int[] cols = new int[nnz];
        split(idx, in, rows, cols);
        forChunks(n, (long) nnz * n, (from, to) -> {
            for (int t = from; t < to; t++) {
                int xo = t * in;
                int yo = t * out;
                for (int k = 0; k < nnz; k++) {
                    y[yo + rows[k]] += delta[k] * x[xo + cols[k]];
                }
            }
        });
    }

    // ------------------------------------------------------------------ selection

    /**
     * The positions of the {@code count} entries of smallest |w|, ascending; ties at the boundary go to the lowest
     * positions. A radix select on the bits of |w| (two histogram passes and one collecting pass): O(numel), no sort.
     *
     * @param w the values
     * @param count how many, in [0, w.length]
     * @return sorted positions
     * @throws IllegalArgumentException if count is out of range or w holds NaN
     */
    public static int[] smallestMagnitude(float[] w, int count) {
        if (count < 0 || count > w.length) {
            throw new IllegalArgumentException("count must be in [0, " + w.length + "]; got " + count);
        }
        if (count == 0) {
            return new int[0];
        }
        int[] hi = new int[1 << 16];
        for (int i = 0; i < w.length; i++) {
            int key = key(w, i);
            hi[key >>> 16]++;
        }
        int bin = 0;
        int below = 0;
        while (below + hi[bin] < count) {
            below += hi[bin];
            bin++;
        }
        int[] lo = new int[1 << 16];
        for (float v : w) {
            int key = Float.floatToRawIntBits(v) & 0x7fffffff;
            if (key >>> 16 == bin) {
                lo[key & 0xffff]++;
            }
        }
        int sub = 0;
        while (below + lo[sub] < count) {
            below += lo[sub];
            sub++;
        }
        int threshold = (bin << 16) | sub;
        int ties = count - below;
        int[] out = new int[count];
        int n = 0;
        for (int i = 0; i < w.length && n < count; i++) {
            int key = Float.floatToRawIntBits(w[i]) & 0x7fffffff;
            if (key < threshold) {
                out[n++] = i;
            } else if (key == threshold && ties > 0) {
                out[n++] = i;
                ties--;
            }
        }
        return out;
    }

    private static int key(float[] w, int i) {
        float v = w[i];
        if (Float.isNaN(v)) {
            throw new IllegalArgumentException(
                    "the weight holds NaN at position " + i + "; cannot select by" + " magnitude");
        }
        return Float.floatToRawIntBits(v) & 0x7fffffff;
    }

    /**
     * The positions where |w| &lt; tau, ascending.
     *
     * @param w the values
     * @param tau the threshold (&gt; 0)
     * @return sorted positions
     */
    public static int[] belowThreshold(float[] w, float tau) {
        if (!(tau > 0)) {
            throw new IllegalArgumentException("threshold must be > 0; got " + tau);
        }
        int n = 0;
        int[] buf = new int[Math.min(w.length, 1024)];
        for (int i = 0; i < w.length; i++) {
            if (Math.abs(w[i]) < tau) {
                if (n == buf.length) {
                    buf = java.util.Arrays.copyOf(buf, Math.min(w.length, buf.length * 2));
                }
                buf[n++] = i;
            }
        }
        return java.util.Arrays.copyOf(buf, n);
    }

    // ------------------------------------------------------------------ helpers

    /** Flat indices to rows and columns of a [*, in] matrix. */
    private static void split(int[] idx, int in, int[] rows, int[] cols) {
        for (int k = 0; k < idx.length; k++) {
            rows[k] = idx[k] / in;
            cols[k] = idx[k] - rows[k] * in;
        }
    }

    /** Fails on an index outside [0, size) and names it. */
    static void checkIndices(int[] idx, long size) {
        for (int k = 0; k < idx.length; k++) {
            if (idx[k] < 0 || idx[k] >= size) {
                throw new IllegalArgumentException(
                        "index " + idx[k] + " at position " + k + " is outside [0, " + size + ")");
            }
        }
    }

    private static void requireLength(String name, int length, long expected) {
        if (length != expected) {
            throw new IllegalArgumentException(name + " holds " + length + " values; expected " + expected);
        }
    }

    private interface Range {
        void run(int from, int to);
    }

    /** Splits [0, n) into chunks run on the common pool when the work is large enough. */
    private static void forChunks(int n, long work, Range body) {
        int threads = java.util.concurrent.ForkJoinPool.getCommonPoolParallelism() + 1;
        if (n == 0) {
            return;
        }
        if (work < PARALLEL_WORK || threads <= 1 || n < 2) {
            body.run(0, n);
            return;
        }
        int chunks = Math.min(n, threads * 4);
        IntStream.range(0, chunks)
                .parallel()
                .forEach(c -> body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks)));
    }
}
