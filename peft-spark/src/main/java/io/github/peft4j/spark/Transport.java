package io.github.peft4j.spark;

/** How the replicas of a {@link SparkFineTuner} run average their gradients. */
public enum Transport {
    /** Through the driver with {@code BarrierTaskContext.allGather}: no sockets between executors; a few replicas. */
    ALL_GATHER,
    /** A ring all-reduce over TCP between the tasks: constant traffic per replica, nothing through the driver. */
    RING,
    /**
     * {@link #ALL_GATHER} up to {@link #AUTO_ALL_GATHER_MAX} replicas when every reply fits
     * {@code spark.rpc.message.maxSize}, {@link #RING} otherwise, chosen by the replicas on the first average, when
     * the size of the gradients is known (docs/scale-out.md derives the threshold).
     */
    AUTO;

    /** The most replicas {@link #AUTO} averages through the driver. */
    public static final int AUTO_ALL_GATHER_MAX = 4;
}
