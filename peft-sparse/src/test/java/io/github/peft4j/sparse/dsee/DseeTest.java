package io.github.peft4j.sparse.dsee;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** DSEE's sparse positions are the largest entries of the weight's residual after its low-rank approximation. */
class DseeTest {

    @Test
    void positionsAreTheSparseResidualsLargestEntries() {
        // W = u vᵀ (rank 1) + three planted spikes: the rank-1 residual is the spikes, whatever their size against W
        int out = 12;
        int in = 10;
        SplittableRandom r = new SplittableRandom(4);
        float[] w = new float[out * in];
        double[] u = new double[out];
        double[] v = new double[in];
        for (int i = 0; i < out; i++) {
            u[i] = 1 + r.nextDouble();
        }
        for (int j = 0; j < in; j++) {
            v[j] = 1 + r.nextDouble();
        }
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < in; j++) {
                w[i * in + j] = (float) (u[i] * v[j]);
            }
        }
        int[] spikes = {7, 45, 113};
        w[7] += 0.5f;
        w[45] -= 0.7f;
        w[113] += 0.6f;
        int[] got = DseeLayer.sparsePositions(w, out, in, 1, 3, 0);
        assertArrayEquals(spikes, got);
        // plain magnitude would pick the largest entries of u vᵀ instead
        assertEquals(3, got.length);
    }
}
