package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.util.PairList;

/** Examples addressable by index, turned into model inputs and labels batch by batch. */
public interface TrainingData {

    /**
     * Returns the number of examples.
     *
     * @return the size
     */
    int size();

    /**
     * Builds the model inputs of some examples.
     *
     * @param indices example indices
     * @param manager owns the arrays
     * @return the inputs
     */
    NDList inputs(int[] indices, NDManager manager);

    /**
     * Builds the labels of some examples.
     *
     * @param indices example indices
     * @param manager owns the arrays
     * @return what the loss compares the model's first output with: class indices, int64 [batch], for a
     *     classifier; token ids with -100 where nothing counts, int64 [batch, seq], for a language model
     */
    NDArray labels(int[] indices, NDManager manager);

    /**
     * Returns how much some examples weigh in the loss: the loss of a batch is a mean over this weight, examples for a
     * classifier (the default), counted tokens for a language model ({@link CausalLmData}). A data-parallel replica
     * ({@link DataParallel}) scales its share's loss by its share of the weight, so that the replicas' average is the
     * loss of the whole batch.
     *
     * @param indices example indices
     * @return the weight, ≥ 0
     */
    default double weight(int[] indices) {
        return indices.length;
    }

    /**
     * Builds the forward parameters of some examples, passed to the model's forward pass beside {@link #inputs}:
     * per-row values that are not model inputs, such as Poly's task ids ({@link TaskRoutedData}). None by default.
     *
     * @param indices example indices
     * @param manager owns the arrays
     * @return the parameters, or null for none
     */
    default PairList<String, Object> forwardParameters(int[] indices, NDManager manager) {
        return null;
    }
}
