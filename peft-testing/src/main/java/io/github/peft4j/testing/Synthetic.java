package io.github.peft4j.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.github.peft4j.train.TrainingData;
import java.util.SplittableRandom;

/**
 * A synthetic classification task for tiny BERTs: sequences of 8 ids (mask all ones); the label says whether id 7
 * occurs.
 *
 * @param ids token ids [n][8]
 * @param labels labels [n]
 */
public record Synthetic(long[][] ids, int[] labels) implements TrainingData {
    /**
     * Makes n examples, labels alternating.
     *
     * @param n how many
     * @param seed the seed
     * @return the data
     */
    public static Synthetic make(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long[][] ids = new long[n][8];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 2;
            for (int t = 0; t < 8; t++) {
                ids[i][t] = 8L + r.nextInt(42);
            }
            if (labels[i] == 1) {
                ids[i][1 + r.nextInt(7)] = 7;
            }
        }
        return new Synthetic(ids, labels);
    }

    @Override
    public int size() {
        return ids.length;
    }

    @Override
    public NDList inputs(int[] idx, NDManager m) {
        long[][] b = new long[idx.length][];
        long[][] mask = new long[idx.length][8];
        for (int i = 0; i < idx.length; i++) {
            b[i] = ids[idx[i]];
            java.util.Arrays.fill(mask[i], 1);
        }
        return new NDList(m.create(b), m.create(mask));
    }

    @Override
    public NDArray labels(int[] idx, NDManager m) {
        long[] l = new long[idx.length];
        for (int i = 0; i < idx.length; i++) {
            l[i] = labels[idx[i]];
        }
        return m.create(l);
    }
}
