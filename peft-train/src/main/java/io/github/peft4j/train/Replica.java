package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.nn.RowKeys;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A data-parallel replica's part of a training step: its share of each micro-batch, its rows' dropout keys, and the
 * averaging of the gradients (and the loss) with the other replicas.
 */
final class Replica {

    private final DataParallel dp;
    private final int share;
    private final int from;

    Replica(DataParallel dp, int batchSize) {
        this.dp = dp;
        int n = dp.worldSize();
        if (n < 1 || dp.rank() < 0 || dp.rank() >= n) {
            throw new IllegalArgumentException("data-parallel rank " + dp.rank() + " of " + n + " replicas");
        }
        if (batchSize % n != 0) {
            throw new IllegalArgumentException("the batch size " + batchSize + " is the global batch of " + n
                    + " replicas, and must be a multiple of " + n + " (each replica takes an equal share)");
        }
        this.share = batchSize / n;
        this.from = dp.rank() * share;
    }

    /** This replica's examples of a global micro-batch. */
    int[] share(int[] global) {
        return Arrays.copyOfRange(global, from, from + share);
    }

    /** The dropout keys of this replica's rows: their positions in the step's global batch. */
    RowKeys keys(long seed, long step, int micro) {
        long[] rows = new long[share];
        for (int i = 0; i < share; i++) {
            rows[i] = (long) micro * share * dp.worldSize() + from + i;
        }
        return RowKeys.open(seed * 1_000_003L + step, rows);
    }

    /**
     * This replica's rows of the global micro-batch's inputs: built for the whole micro-batch so that they are
     * padded as one process would pad them (the shapes, and with them the dropout masks, do not depend on the
     * number of replicas).
     */
    NDList inputs(TrainingData train, int[] global, NDManager manager) {
        NDList all = train.inputs(global, manager);
        if (dp.worldSize() == 1) {
            return all;
        }
        NDList mine = new NDList(all.size());
        NDIndex rows = new NDIndex("{}:{}", from, from + share);
        for (NDArray a : all) {
            mine.add(a.get(rows));
        }
        return mine;
    }

    /** This replica's rows of the global micro-batch's labels, built as one process builds them (padding). */
    NDArray labels(TrainingData train, int[] global, NDManager manager) {
        NDArray all = train.labels(global, manager);
        return dp.worldSize() == 1 ? all : all.get(new NDIndex("{}:{}", from, from + share));
    }

    /**
     * The factor of this replica's loss: N × its share of the micro-batch's {@link TrainingData#weight} (1 for equal
     * shares of examples), so that the mean over replicas of the scaled losses is the whole micro-batch's loss when
     * the loss is a mean over counted tokens.
     */
    double lossScale(TrainingData train, int[] global, int[] mine) {
        double all = train.weight(global);
        return all == 0 ? 1 : dp.worldSize() * train.weight(mine) / all;
    }

    /** Replaces the gradients with their mean over the replicas; returns the mean of the replicas' losses. */
    double allReduce(Map<String, Parameter> active, double loss) {
        List<NDArray> grads = new ArrayList<>(active.size());
        List<ByteBuffer> views = new ArrayList<>(active.size() + 1);
        try {
            for (Parameter p : active.values()) {
                NDArray g = p.getArray().getGradient();
                grads.add(g);
                views.add(g.toByteBuffer(true));
            }
            ByteBuffer lossBuffer = ByteBuffer.allocateDirect(Float.BYTES).order(ByteOrder.nativeOrder());
            lossBuffer.putFloat(0, (float) loss);
            views.add(lossBuffer);
            boolean[] aliased = new boolean[grads.size()];
            for (int i = 0; i < grads.size(); i++) {
                aliased[i] = aliases(grads.get(i), views.get(i));
            }
            dp.allReduceMean(views);
            for (int i = 0; i < grads.size(); i++) {
                if (!aliased[i]) {
                    copyBack(views.get(i), grads.get(i)); // a GPU or non-contiguous gradient
                }
            }
            return lossBuffer.getFloat(0);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "data-parallel replica " + dp.rank() + " of " + dp.worldSize()
                            + " could not average its gradients: " + e.getMessage(),
                    e);
        } finally {
            grads.forEach(NDArray::close);
        }
    }

    /**
     * Copies averaged values into a gradient whose buffer was a copy, in place (re-pointing the tensor at the buffer
     * with {@code set(Buffer)} would leave it on memory that is freed after the step).
     */
    static void copyBack(ByteBuffer view, NDArray gradient) {
        FloatBuffer f = view.duplicate().order(view.order()).rewind().asFloatBuffer();
        float[] values = new float[f.remaining()];
        f.get(values);
        try (NDArray v = gradient.getManager().create(values, gradient.getShape())) {
            Scalars.fill(gradient, 0);
            gradient.addi(v);
        }
    }

    /** Whether a buffer is the gradient's own memory (libtorch's CPU tensors) rather than a copy of it. */
    private static boolean aliases(NDArray gradient, ByteBuffer view) {
        if (gradient.getDevice().isGpu() || gradient.size() == 0) {
            return false;
        }
        long[] first = new long[gradient.getShape().dimension()];
        float kept = view.getFloat(0);
        float probe = Float.isNaN(kept) || kept != 1f ? 1f : 2f;
        view.putFloat(0, probe);
        boolean same = gradient.getFloat(first) == probe;
        view.putFloat(0, kept);
        return same;
    }
}
