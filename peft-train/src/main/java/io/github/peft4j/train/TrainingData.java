package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

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
     * @return class indices, int64 [batch]
     */
    NDArray labels(int[] indices, NDManager manager);

    /**
     * Returns the label of one example.
     *
     * @param index the example
     * @return the class index
     */
    int label(int index);
}
