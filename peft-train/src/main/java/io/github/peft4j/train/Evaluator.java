package io.github.peft4j.train;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;

/** Measures a model on held-out data during training (in inference mode: no dropout, no gradient). */
@FunctionalInterface
public interface Evaluator {

    /**
     * Evaluates.
     *
     * @param model the model
     * @param data the examples
     * @param manager parent of the evaluation's scopes
     * @return the metrics
     */
    Evaluation evaluate(Block model, TrainingData data, NDManager manager);

    /**
     * Classification metrics (cross-entropy, accuracy, macro-F1) on the model's first output.
     *
     * @param numClasses the number of classes
     * @param batchSize examples per forward pass
     * @return the evaluator
     */
    static Evaluator classification(int numClasses, int batchSize) {
        return (model, data, manager) -> Evaluation.of(model, data, batchSize, numClasses, manager);
    }
}
