package io.github.peft4j.spark;

/**
 * How the replicas of a {@link SparkFineTuner} run average their gradients. Measured (docs/scale-out.md): Spark's
 * {@code allGather} waits in steps of one second for the driver's reply, so it adds about a second to every
 * optimizer step; the ring adds milliseconds.
 */
public enum Transport {
    /**
     * Through the driver with {@code BarrierTaskContext.allGather}: no connections between executors; about one
     * second per step, and N² messages through the driver.
     */
    ALL_GATHER,
    /** A ring all-reduce over TCP between the tasks: constant traffic per replica, nothing through the driver. */
    RING,
    /** {@link #RING}, or {@link #ALL_GATHER} when the executors cannot reach each other (decided by all replicas). */
    AUTO
}
