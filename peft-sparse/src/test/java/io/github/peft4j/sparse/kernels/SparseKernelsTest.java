package io.github.peft4j.sparse.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every kernel equals its scalar reference, with the portable and the Vector API inner loops. */
class SparseKernelsTest {

    static Stream<SparseKernels> kernels() {
        return Stream.of(SparseKernels.plain(), SparseKernels.best());
    }

    /** {n, out, in, nnz}: edge cases (empty, one row, one token, odd sizes) and sizes that run in parallel. */
    static final int[][] SHAPES = {
        {5, 3, 4, 0},
        {1, 1, 9, 4},
        {13, 1, 7, 7},
        {13, 7, 1, 3},
        {1, 17, 19, 40},
        {33, 31, 29, 200},
        {257, 96, 80, 5000},
        {64, 40, 50, 2000}
    };

    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    static int[] distinctIndices(Random r, int size, int nnz) {
        int[] all = new int[size];
        for (int i = 0; i < size; i++) {
            all[i] = i;
        }
        for (int i = 0; i < nnz; i++) {
            int j = i + r.nextInt(size - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        int[] idx = java.util.Arrays.copyOf(all, nnz);
        java.util.Arrays.sort(idx);
        return idx;
    }

    @Test
    void theVectorApiIsExercisedWhenTheModuleIsPresent() {
        // surefire starts this module's tests with --add-modules jdk.incubator.vector
        assertTrue(
                SparseKernels.best().implementation().startsWith("vector"),
                SparseKernels.best().implementation());
        assertEquals("plain", SparseKernels.plain().implementation());
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void sddmmEqualsTheReferenceAndTheGatheredDenseGradient(SparseKernels k) {
        Random r = new Random(1);
        for (int[] s : SHAPES) {
            int n = s[0];
            int out = s[1];
            int in = s[2];
            int nnz = Math.min(s[3], out * in);
            float[] g = random(r, n * out);
            float[] x = random(r, n * in);
            int[] idx = distinctIndices(r, out * in, nnz);
            float[] ref = SparseReference.sddmm(g, x, n, out, in, idx);
            float[] dense = SparseReference.denseWeightGradient(g, x, n, out, in);
            float tol = 1e-5f * (float) Math.sqrt(n) * 4;
            // wrapped arrays and direct native-order buffers (what NDArray.toByteBuffer(true) gives)
            for (String variant : List.of("auto", "streaming", "blocked", "auto-direct", "blocked-direct")) {
                float[] dst = new float[nnz];
                boolean direct = variant.endsWith("-direct");
                FloatBuffer gb = direct ? direct(g) : FloatBuffer.wrap(g);
                FloatBuffer xb = direct ? direct(x) : FloatBuffer.wrap(x);
                switch (variant) {
                    case "auto", "auto-direct" -> k.sddmm(gb, xb, n, out, in, idx, dst);
                    case "streaming" -> k.sddmmStreaming(gb, xb, n, out, in, idx, dst);
                    default -> k.sddmmBlocked(gb, xb, n, out, in, idx, dst);
                }
                String what = variant + " " + java.util.Arrays.toString(s);
                assertArrayEquals(ref, dst, tol, what);
                for (int i = 0; i < nnz; i++) {
                    assertEquals(dense[idx[i]], dst[i], tol, what + " dense-gathered at " + i);
                }
            }
        }
    }

    static FloatBuffer direct(float[] a) {
        FloatBuffer b = ByteBuffer.allocateDirect(a.length * 4)
                .order(ByteOrder.nativeOrder())
                .asFloatBuffer();
        b.put(a);
        b.position(7 % Math.max(1, a.length)); // absolute reads: the position must not matter
        return b;
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void gatherScatterAndSparseDeltaForward(SparseKernels k) {
        Random r = new Random(2);
        for (int[] s : SHAPES) {
            int n = s[0];
            int out = s[1];
            int in = s[2];
            int nnz = Math.min(s[3], out * in);
            float[] w = random(r, out * in);
            int[] idx = distinctIndices(r, out * in, nnz);
            float[] vals = new float[nnz];
            k.gather(w, idx, vals);
            for (int i = 0; i < nnz; i++) {
                assertEquals(w[idx[i]], vals[i]);
            }
            float[] newVals = random(r, nnz);
            float[] w2 = w.clone();
            k.scatter(newVals, idx, w2);
            float[] expected = w.clone();
            for (int i = 0; i < nnz; i++) {
                expected[idx[i]] = newVals[i];
            }
            assertArrayEquals(expected, w2);

            float[] x = random(r, n * in);
            float[] y = random(r, n * out);
            float[] ref = SparseReference.sparseDeltaForward(x, n, in, out, idx, newVals, y);
            float[] got = y.clone();
            k.sparseDeltaForward(x, n, in, out, idx, newVals, got);
            assertArrayEquals(ref, got, 1e-4f, java.util.Arrays.toString(s));
        }
    }

    @Test
    void selectionEqualsAFullSortIncludingTiesZerosAndSigns() {
        Random r = new Random(3);
        for (int size : new int[] {1, 2, 7, 100, 4099, 100_000}) {
            float[] w = random(r, size);
            for (int i = 0; i < size; i += 5) {
                w[i] = (i % 3 == 0 ? -1 : 1) * Math.round(w[i] * 4) / 4f; // ties, ±0, equal magnitudes of both signs
            }
            for (int count : new int[] {0, 1, size / 10, size / 2, size}) {
                assertArrayEquals(
                        SparseReference.smallestMagnitude(w, count),
                        SparseKernels.smallestMagnitude(w, count),
                        "size " + size + " count " + count);
            }
        }
        float[] w = {3f, -0.5f, 0.25f, -0.25f, 2f};
        assertArrayEquals(new int[] {1, 2, 3}, SparseKernels.belowThreshold(w, 1f));
        assertArrayEquals(new int[0], SparseKernels.belowThreshold(w, 0.1f));
    }

    static FloatBuffer buffer(int n) {
        return FloatBuffer.wrap(new float[n]);
    }

    @Test
    void badInputNamesWhatIsWrong() {
        SparseKernels k = SparseKernels.best();
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> k.gather(new float[6], new int[] {0, 6}, new float[2]));
        assertEquals("index 6 at position 1 is outside [0, 6)", e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> k.sddmm(buffer(4), buffer(6), 2, 2, 3, new int[] {-1}, new float[1]));
        IllegalArgumentException len = assertThrows(
                IllegalArgumentException.class,
                () -> k.sddmm(buffer(5), buffer(6), 2, 2, 3, new int[] {0}, new float[1]));
        assertEquals("g holds 5 values; expected 4", len.getMessage());
        IllegalArgumentException nan = assertThrows(
                IllegalArgumentException.class, () -> SparseKernels.smallestMagnitude(new float[] {1, Float.NaN}, 1));
        assertTrue(nan.getMessage().contains("NaN at position 1"), nan.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SparseKernels.smallestMagnitude(new float[3], 4));
        assertThrows(IllegalArgumentException.class, () -> SparseKernels.belowThreshold(new float[3], 0));
    }
}
