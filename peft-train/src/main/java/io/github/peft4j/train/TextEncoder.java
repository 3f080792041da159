package io.github.peft4j.train;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.List;

/** Turns a batch of texts into the inputs of a model: a tokenizer, seen from the training loop. */
@FunctionalInterface
public interface TextEncoder {

    /**
     * Encodes texts, padded to a common length.
     *
     * @param texts the texts of one batch
     * @param manager owns the arrays
     * @return the model inputs (e.g. input_ids, attention_mask, token_type_ids)
     */
    NDList encode(List<String> texts, NDManager manager);
}
