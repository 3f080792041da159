package io.github.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.peft4j.sparse.kernels.SparseKernels;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The values' gradient of a sparse layer, grad[k] = Σ_n g[n, row_k] x[n, col_k], three ways in the same JVM:
 *
 * <ul>
 *   <li>{@code denseThenGather} — the baseline: libtorch forms the dense weight gradient gᵀx [out, in] (a GEMM) and
 *       gathers the selected entries ({@code take}), what autograd through {@code put} does;
 *   <li>{@code sddmm} — peft4j's kernel ({@link SparseKernels#best()}: Vector API when the fork has the module,
 *       which it does), on Java arrays;
 *   <li>{@code sddmmPlain} — the same kernel with portable inner loops;
 *   <li>{@code sddmmFromTensors} — the kernel as training uses it: g and x read in place from libtorch's memory
 *       ({@code toByteBuffer(true)}), the result handed back as a tensor;
 *   <li>{@code sddmmReference} — the scalar reference of the tests; {@code sddmmStreaming} /
 *       {@code sddmmBlocked} — the two forms {@code sddmm} chooses between.
 * </ul>
 *
 * <p>FLOPs: SDDMM 2·nnz·n, dense 2·n·out·in (the GEMM's GFLOP/s is the machine's dense reference). Run:
 * {@code java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar SddmmBenchmark -rf json}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-DDJL_OFFLINE=true", "-Dai.djl.offline=true"})
public class SddmmBenchmark {

    /** Weight shape out x in. */
    @Param({"384x384", "384x1536", "1536x384", "4096x4096"})
    public String shape;

    /** Tokens. */
    @Param({"512", "4096"})
    public int n;

    /** Share of W's entries selected. */
    @Param({"0.001", "0.01", "0.1", "0.2"})
    public double density;

    int out;
    int in;
    float[] g;
    float[] x;
    int[] idx;
    float[] dst;
    NDManager manager;
    NDArray gNd;
    NDArray xNd;
    NDArray idxNd;

    /** Builds random inputs. */
    @Setup(Level.Trial)
    public void setUp() {
        String[] s = shape.split("x");
        out = Integer.parseInt(s[0]);
        in = Integer.parseInt(s[1]);
        SplittableRandom r = new SplittableRandom(1);
        g = random(r, n * out);
        x = random(r, n * in);
        int nnz = (int) Math.max(1, Math.round(density * out * in));
        idx = SparseKernels.smallestMagnitude(random(r, out * in), nnz); // a realistic (scattered) selection
        dst = new float[nnz];
        manager = NDManager.newBaseManager();
        gNd = manager.create(g, new Shape(n, out));
        xNd = manager.create(x, new Shape(n, in));
        idxNd = manager.create(idx).toType(DataType.INT64, false);
    }

    static float[] random(SplittableRandom r, int len) {
        float[] a = new float[len];
        for (int i = 0; i < len; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    /** Frees the arrays. */
    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }

    /**
     * Baseline: dense gᵀx in libtorch, then gather.
     *
     * @return the values (kept in libtorch, as autograd keeps them)
     */
    @Benchmark
    public long denseThenGather() {
        try (NDManager s = manager.newSubManager()) {
            NDArray gt = gNd.transpose();
            gt.attach(s);
            NDArray dense = gt.matMul(xNd);
            dense.attach(s);
            NDArray flat = dense.reshape(-1);
            flat.attach(s);
            NDArray v = flat.take(idxNd);
            v.attach(s);
            return v.getShape().get(0);
        }
    }

    /**
     * peft4j's SDDMM (Vector API inner loops).
     *
     * @return the values
     */
    @Benchmark
    public float[] sddmm() {
        SparseKernels.best().sddmm(FloatBuffer.wrap(g), FloatBuffer.wrap(x), n, out, in, idx, dst);
        return dst;
    }

    /**
     * peft4j's SDDMM with portable inner loops.
     *
     * @return the values
     */
    @Benchmark
    public float[] sddmmPlain() {
        SparseKernels.plain().sddmm(FloatBuffer.wrap(g), FloatBuffer.wrap(x), n, out, in, idx, dst);
        return dst;
    }

    /**
     * The plain scalar reference the tests compare against (float64 sums, no threads).
     *
     * @return the values
     */
    @Benchmark
    public float[] sddmmReference() {
        return io.github.peft4j.sparse.kernels.SparseReference.sddmm(g, x, n, out, in, idx);
    }

    /**
     * The streaming form alone (for the crossover inside {@code sddmm}).
     *
     * @return the values
     */
    @Benchmark
    public float[] sddmmStreaming() {
        SparseKernels.best().sddmmStreaming(FloatBuffer.wrap(g), FloatBuffer.wrap(x), n, out, in, idx, dst);
        return dst;
    }

    /**
     * The token-blocked form alone (for the crossover inside {@code sddmm}).
     *
     * @return the values
     */
    @Benchmark
    public float[] sddmmBlocked() {
        SparseKernels.best().sddmmBlocked(FloatBuffer.wrap(g), FloatBuffer.wrap(x), n, out, in, idx, dst);
        return dst;
    }

    /**
     * SDDMM as training runs it: g and x read in place from libtorch's memory, the result handed back as a tensor.
     *
     * @return the values' length
     */
    @Benchmark
    public long sddmmFromTensors() {
        FloatBuffer gs = gNd.toByteBuffer(true).asFloatBuffer();
        FloatBuffer xs = xNd.toByteBuffer(true).asFloatBuffer();
        float[] v = new float[idx.length];
        SparseKernels.best().sddmm(gs, xs, n, out, in, idx, v);
        try (NDArray back = manager.create(v)) {
            return back.size();
        }
    }
}
