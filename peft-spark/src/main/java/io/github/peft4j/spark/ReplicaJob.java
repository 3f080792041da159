package io.github.peft4j.spark;

import io.github.peft4j.train.DataParallel;
import java.io.Serializable;

/**
 * What every barrier task of a {@link SparkFineTuner} run does with its replica: build the model and data, and train
 * them with {@code FineTuner.Builder.optDataParallel(dataParallel)}. Serialized to the executors, so it holds only
 * what they can rebuild from (paths, settings); {@link PeftTrainJob} runs {@code peft train}'s arguments.
 */
@FunctionalInterface
public interface ReplicaJob extends Serializable {

    /**
     * Trains this replica.
     *
     * @param dataParallel the replica's rank, the number of replicas, and the averaging of gradients
     * @param attempt 0 for the first run; more when the run is retried after a failure, when it should resume
     *     from the last checkpoint
     * @return a summary the driver collects from every replica
     * @throws Exception whatever stops the replica (the stage then fails)
     */
    String run(DataParallel dataParallel, int attempt) throws Exception;
}
