package io.github.peft4j.train;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * One replica's place in a data-parallel run and how it averages values with the others: the contract between
 * {@link FineTuner} and a transport such as peft-spark's barrier tasks.
 *
 * <p>With {@link FineTuner.Builder#optDataParallel}, every replica runs the same {@link FineTuner} (same model, data,
 * config and seed); each computes the gradients of its share of every micro-batch ({@link FineTuneConfig#batchSize()}
 * is the global batch, split evenly over the replicas), the replicas average them with {@link #allReduceMean}, and
 * each applies the same AdamW update, so the replicas never drift. Rank 0 alone writes checkpoints and
 * {@code metrics.jsonl}. Dropout masks are drawn per row of the global batch ({@code RowKeys}), inputs and labels are
 * padded as for the whole batch, and each replica's loss is weighted by its share of the batch's
 * {@link TrainingData#weight} (counted tokens for a language model), so the run computes what one process with the
 * whole batch computes, up to the rounding of the sums.
 */
public interface DataParallel {

    /**
     * Returns this replica's rank.
     *
     * @return 0 to {@code worldSize() − 1}; rank 0 writes the run's files
     */
    int rank();

    /**
     * Returns the number of replicas.
     *
     * @return at least 1
     */
    int worldSize();

    /**
     * Replaces this replica's values with the mean over all replicas, the same to the bit on every replica. Every
     * replica calls it with buffers of the same sizes, in the same order.
     *
     * @param buffers float32 values in native byte order, read and written from position 0 to the limit: views of
     *     the gradients' memory where the engine allows, so a transport can send and receive without copying
     * @throws IOException if a replica cannot be reached (the run then fails and resumes from its last checkpoint)
     */
    void allReduceMean(List<ByteBuffer> buffers) throws IOException;

    /**
     * Waits until every replica has called it (e.g. after rank 0 alone has prepared files the others read).
     *
     * @throws IOException if a replica cannot be reached
     */
    void barrier() throws IOException;
}
