package io.github.peft4j.spark;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Function1;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;

/**
 * Data-parallel fine-tuning on Spark's barrier execution mode: one barrier stage of N tasks, each holding a replica
 * ({@link ReplicaJob}) that trains its share of every batch and averages gradients with the others every optimizer
 * step ({@link Transport}); all start together and, if one fails (an exception, a lost executor), Spark stops them
 * all and fails the job (it does not retry a barrier result stage). This class then submits the job again, up to
 * {@link Builder#optMaxAttempts} times in all, with a higher attempt number, and the job resumes from its last
 * checkpoint: peft4j's exact resume makes the retried run end where an uninterrupted one would. Errors a retry would
 * meet again (refused arguments) end the run at once.
 *
 * <pre>{@code
 * try (JavaSparkContext sc = new JavaSparkContext(conf)) {   // one task per executor: spark.task.cpus = executor cores
 *     List<ReplicaReport> r = SparkFineTuner.builder().setWorkers(4).build()
 *             .run(sc, new PeftTrainJob(List.of("--model", "minilm", "--data", "spam-assassin", "--output", dir)));
 * }
 * }</pre>
 *
 * <p>Each executor must run one replica at a time (libtorch autograd through DJL allows one gradient recording per
 * JVM): give the tasks all of an executor's cores ({@code spark.task.cpus = spark.executor.cores}); a second
 * replica in one JVM fails with that advice. The output directory must be one every executor reads and writes
 * (local disk with {@code local-cluster}, a shared file system on a cluster): rank 0 writes the checkpoints, and a
 * retried run resumes every replica from them.
 */
public final class SparkFineTuner {

    private static final Logger LOG = LoggerFactory.getLogger(SparkFineTuner.class);

    /** Set while a replica trains in this JVM. */
    private static final AtomicBoolean REPLICA_RUNNING = new AtomicBoolean();

    private final int workers;
    private final Transport transport;
    private final int maxAttempts;

    private SparkFineTuner(Builder b) {
        if (b.workers < 1) {
            throw new IllegalArgumentException("SparkFineTuner.Builder.setWorkers is required (≥ 1); got " + b.workers);
        }
        this.workers = b.workers;
        this.transport = b.transport;
        this.maxAttempts = b.maxAttempts;
    }

    /**
     * Returns a builder.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the transport this run averages with.
     *
     * @return the transport
     */
    public Transport transport() {
        return transport;
    }

    /**
     * Runs the job on {@code workers} barrier tasks until it ends, retrying failed stages.
     *
     * @param sc the Spark context (its cluster must offer {@code workers} task slots at once)
     * @param job what every replica does
     * @return every replica's report, by rank, from the attempt that ended the run
     * @throws IllegalStateException if the run failed in every attempt, or failed with an error that a retry would
     *     meet again (bad arguments), with the replicas' error
     */
    public List<ReplicaReport> run(JavaSparkContext sc, ReplicaJob job) {
        for (int attempt = 0; ; attempt++) {
            try {
                return runOnce(sc, job, attempt);
            } catch (Exception e) { // collect() throws SparkException, which Java sees as checked but undeclared
                boolean retry = attempt + 1 < maxAttempts && !isUserError(e);
                if (!retry) {
                    throw new IllegalStateException(
                            "data-parallel run failed"
                                    + (isUserError(e) ? "" : " in " + (attempt + 1) + " attempt(s)") + ": "
                                    + e.getMessage(),
                            e);
                }
                LOG.warn(
                        "data-parallel run failed (attempt {} of {}); resuming from the last checkpoint: {}",
                        attempt + 1,
                        maxAttempts,
                        e.getMessage());
            }
        }
    }

    private List<ReplicaReport> runOnce(JavaSparkContext sc, ReplicaJob job, int attempt) {
        RDD<Integer> ranks = sc.parallelize(IntStream.range(0, workers).boxed().toList(), workers)
                .rdd();
        Transport t = transport;
        Function1<scala.collection.Iterator<Integer>, scala.collection.Iterator<ReplicaReport>> task =
                (Function1<scala.collection.Iterator<Integer>, scala.collection.Iterator<ReplicaReport>> & Serializable)
                        it -> CollectionConverters.asScala(
                                List.of(task(job, t, attempt)).iterator());
        Object out = ranks.barrier()
                .mapPartitions(task, false, ClassTag$.MODULE$.apply(ReplicaReport.class))
                .collect();
        List<ReplicaReport> reports = new ArrayList<>(Arrays.asList((ReplicaReport[]) out));
        reports.sort(Comparator.comparingInt(ReplicaReport::rank));
        return reports;
    }

    /** The body of a barrier task, its checked exceptions wrapped (a Scala function declares none). */
    private static ReplicaReport task(ReplicaJob job, Transport transport, int driverAttempt) {
        try {
            return runReplica(job, transport, driverAttempt);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e.toString(), e);
        }
    }

    /** The body of a barrier task. */
    static ReplicaReport runReplica(ReplicaJob job, Transport transport, int driverAttempt) throws Exception {
        BarrierTaskContext ctx = BarrierTaskContext.get();
        if (!REPLICA_RUNNING.compareAndSet(false, true)) {
            throw new IllegalStateException("two replicas in one executor JVM (task " + ctx.partitionId() + "):"
                    + " DJL records gradients for one thread per JVM; set spark.task.cpus to spark.executor.cores");
        }
        try (Exchange exchange = open(transport, ctx)) {
            String summary = job.run(exchange, driverAttempt + ctx.stageAttemptNumber());
            ctx.barrier(); // every replica finished: rank 0's files are complete
            return ReplicaReport.of(exchange, summary);
        } finally {
            REPLICA_RUNNING.set(false);
        }
    }

    private static Exchange open(Transport transport, BarrierTaskContext ctx) throws IOException {
        return switch (transport) {
            case RING -> RingExchange.open(ctx);
            case ALL_GATHER -> new AllGatherExchange(ctx, maxMessageBytes());
            case AUTO -> new AutoExchange(ctx, maxMessageBytes());
        };
    }

    private static long maxMessageBytes() {
        return (long) SparkEnv.get().conf().getInt("spark.rpc.message.maxSize", 128) << 20;
    }

    private static boolean isUserError(Throwable e) {
        String m = String.valueOf(e.getMessage());
        return Arrays.asList("IllegalArgumentException", "ParameterException", "two replicas in one executor").stream()
                .anyMatch(m::contains);
    }

    /** Builds a {@link SparkFineTuner}: {@code setWorkers} is required. */
    public static final class Builder {
        private int workers;
        private Transport transport = Transport.AUTO;
        private int maxAttempts = 3;

        private Builder() {}

        /**
         * Sets the number of replicas (barrier tasks); the batch size of the job is split evenly over them.
         *
         * @param workers at least 1
         * @return this builder
         */
        public Builder setWorkers(int workers) {
            this.workers = workers;
            return this;
        }

        /**
         * Sets how the replicas average their gradients (default {@link Transport#AUTO}).
         *
         * @param transport the transport
         * @return this builder
         */
        public Builder optTransport(Transport transport) {
            this.transport = java.util.Objects.requireNonNull(transport, "transport");
            return this;
        }

        /**
         * Sets how many times a failed run is submitted in all (default 3), each resuming from the last checkpoint.
         *
         * @param maxAttempts at least 1
         * @return this builder
         */
        public Builder optMaxAttempts(int maxAttempts) {
            if (maxAttempts < 1) {
                throw new IllegalArgumentException("maxAttempts must be ≥ 1; got " + maxAttempts);
            }
            this.maxAttempts = maxAttempts;
            return this;
        }

        /**
         * Builds the runner.
         *
         * @return the runner
         */
        public SparkFineTuner build() {
            return new SparkFineTuner(this);
        }
    }
}
