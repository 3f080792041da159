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

    /**
     * Language-model metrics (mean token loss, perplexity, next-token accuracy) over the counted tokens of
     * {@link CausalLmData}-style data (labels with -100 where nothing counts), on the model's first output (logits).
     *
     * @param batchSize sequences per forward pass
     * @return the evaluator
     */
    static Evaluator languageModel(int batchSize) {
        return (model, data, manager) -> {
            double loss = 0;
            double correct = 0;
            double tokens = 0;
            for (int start = 0; start < data.size(); start += batchSize) {
                int n = Math.min(batchSize, data.size() - start);
                int[] idx = new int[n];
                for (int i = 0; i < n; i++) {
                    idx[i] = start + i;
                }
                try (NDManager s = manager.newSubManager()) {
                    var logits = model.forward(
                                    new ai.djl.training.ParameterStore(s, false),
                                    data.inputs(idx, s),
                                    false,
                                    data.forwardParameters(idx, s))
                            .get(0);
                    double[] sums = CausalLmLoss.sums(data.labels(idx, s), logits);
                    loss += sums[0];
                    correct += sums[1];
                    tokens += sums[2];
                }
            }
            return Evaluation.languageModel(loss / Math.max(1, tokens), correct / Math.max(1, tokens), (long) tokens);
        };
    }
}
