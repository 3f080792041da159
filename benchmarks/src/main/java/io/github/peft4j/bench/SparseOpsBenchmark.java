package io.github.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.peft4j.sparse.kernels.SparseKernels;
import java.util.Arrays;
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
 * Selection and gather/scatter on a weight of {@code shape} at {@code density}, each against its baseline in the same
 * JVM:
 *
 * <ul>
 *   <li>{@code select} (radix select of the smallest |W|) vs {@code selectBySort} (sort all of |W| to find the
 *       threshold, then collect);
 *   <li>{@code gather} / {@code scatter} (peft4j, Java arrays) vs {@code gatherTorch} / {@code scatterTorch}
 *       (libtorch {@code take} / {@code put} on tensors).
 * </ul>
 *
 * <p>Bytes moved: gather/scatter 8·nnz (index + value) plus the value written; selection reads W three times. Run:
 * {@code java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar SparseOpsBenchmark -rf json}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-DDJL_OFFLINE=true", "-Dai.djl.offline=true"})
public class SparseOpsBenchmark {

    /** Weight shape out x in. */
    @Param({"384x384", "384x1536", "1536x384", "4096x4096"})
    public String shape;

    /** Share of W's entries selected. */
    @Param({"0.001", "0.01", "0.1", "0.2"})
    public double density;

    float[] w;
    float[] values;
    int[] idx;
    int count;
    NDManager manager;
    NDArray wNd;
    NDArray idxNd;
    NDArray valuesNd;

    /** Builds random inputs. */
    @Setup(Level.Trial)
    public void setUp() {
        String[] s = shape.split("x");
        int numel = Integer.parseInt(s[0]) * Integer.parseInt(s[1]);
        SplittableRandom r = new SplittableRandom(2);
        w = SddmmBenchmark.random(r, numel);
        count = (int) Math.max(1, Math.round(density * numel));
        idx = SparseKernels.smallestMagnitude(w, count);
        values = new float[count];
        manager = NDManager.newBaseManager();
        wNd = manager.create(w);
        idxNd = manager.create(idx).toType(DataType.INT64, false);
        valuesNd = manager.create(SddmmBenchmark.random(r, count));
    }

    /** Frees the arrays. */
    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }

    /**
     * Radix select.
     *
     * @return the positions
     */
    @Benchmark
    public int[] select() {
        return SparseKernels.smallestMagnitude(w, count);
    }

    /**
     * Baseline: sort |W| to find the threshold, then collect the positions below it.
     *
     * @return the positions
     */
    @Benchmark
    public int[] selectBySort() {
        float[] a = new float[w.length];
        for (int i = 0; i < a.length; i++) {
            a[i] = Math.abs(w[i]);
        }
        Arrays.sort(a);
        float t = a[count - 1];
        int[] out = new int[count];
        int n = 0;
        for (int i = 0; i < w.length && n < count; i++) {
            if (Math.abs(w[i]) <= t) {
                out[n++] = i;
            }
        }
        return out;
    }

    /**
     * peft4j gather.
     *
     * @return the values
     */
    @Benchmark
    public float[] gather() {
        SparseKernels.best().gather(w, idx, values);
        return values;
    }

    /**
     * libtorch take.
     *
     * @return the size
     */
    @Benchmark
    public long gatherTorch() {
        try (NDArray v = wNd.take(idxNd)) {
            return v.size();
        }
    }

    /**
     * peft4j scatter (in place).
     *
     * @return the weight
     */
    @Benchmark
    public float[] scatter() {
        SparseKernels.best().scatter(values, idx, w);
        return w;
    }

    /**
     * libtorch put (out of place, as the training forward uses it).
     *
     * @return the size
     */
    @Benchmark
    public long scatterTorch() {
        try (NDArray v = wNd.put(idxNd, valuesNd)) {
            return v.size();
        }
    }
}
