package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import java.util.SplittableRandom;

/**
 * A classification task for the 8 → 4 MLP of the tests: random inputs, labels from a teacher network's argmax.
 *
 * @param x inputs [n][8]
 * @param y labels [n]
 */
record VectorTask(float[][] x, int[] y) implements TrainingData {

    static VectorTask make(Block teacher, int n, long seed, NDManager manager) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] x = new float[n][8];
        float[] flat = new float[n * 8];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 8; j++) {
                x[i][j] = (float) (r.nextDouble() * 2 - 1);
                flat[i * 8 + j] = x[i][j];
            }
        }
        int[] y = new int[n];
        try (NDManager s = manager.newSubManager()) {
            NDArray out = teacher.forward(
                            new ParameterStore(s, false), new NDList(s.create(flat, new Shape(n, 8))), false)
                    .singletonOrThrow();
            long[] am = out.argMax(1).toLongArray();
            for (int i = 0; i < n; i++) {
                y[i] = (int) am[i];
            }
        }
        return new VectorTask(x, y);
    }

    @Override
    public int size() {
        return x.length;
    }

    @Override
    public NDList inputs(int[] indices, NDManager manager) {
        float[] flat = new float[indices.length * 8];
        for (int i = 0; i < indices.length; i++) {
            System.arraycopy(x[indices[i]], 0, flat, i * 8, 8);
        }
        return new NDList(manager.create(flat, new Shape(indices.length, 8)));
    }

    @Override
    public NDArray labels(int[] indices, NDManager manager) {
        long[] l = new long[indices.length];
        for (int i = 0; i < indices.length; i++) {
            l[i] = y[indices[i]];
        }
        return manager.create(l);
    }
}
