package io.github.peft4j.core.nn;

/**
 * The scope of one forward pass whose dropout masks are keyed by row ({@link Dropouts}): a seed for the step and,
 * for every row of the batch, its place in the global batch. Open it on the thread that runs the forward pass and
 * close it after; scopes nest.
 *
 * <pre>{@code
 * try (RowKeys keys = RowKeys.open(stepSeed, positionsOfMyRows)) {
 *     NDArray out = model.forward(ps, inputs, true).get(0);   // every dropout draws its mask row by row
 * }
 * }</pre>
 */
public final class RowKeys implements AutoCloseable {

    private static final ThreadLocal<RowKeys> CURRENT = new ThreadLocal<>();

    private final long seed;
    private final long[] rows;
    private final RowKeys previous;
    private int calls;

    private RowKeys(long seed, long[] rows, RowKeys previous) {
        this.seed = seed;
        this.rows = rows.clone();
        this.previous = previous;
    }

    /**
     * Opens a scope on this thread.
     *
     * @param seed the seed of the pass (the same on every replica for the same step and micro-batch)
     * @param rows every row's key: its position in the global batch
     * @return the scope, to close after the forward pass
     */
    public static RowKeys open(long seed, long[] rows) {
        RowKeys k = new RowKeys(seed, rows, CURRENT.get());
        CURRENT.set(k);
        return k;
    }

    /**
     * Returns the scope open on this thread.
     *
     * @return the scope, or null outside one
     */
    public static RowKeys current() {
        return CURRENT.get();
    }

    long seed() {
        return seed;
    }

    long[] rows() {
        return rows;
    }

    /** Numbers the dropout calls of the pass: the same layer's call has the same number on every replica. */
    int nextCall() {
        return calls++;
    }

    @Override
    public void close() {
        if (previous == null) {
            CURRENT.remove();
        } else {
            CURRENT.set(previous);
        }
    }
}
