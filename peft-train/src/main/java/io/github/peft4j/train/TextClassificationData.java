package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;

/**
 * Texts with class labels, tokenized per batch (padding to the longest text of the batch).
 *
 * @param texts the texts
 * @param labels class indices in [0, number of classes)
 * @param encoder turns a batch of texts into model inputs (e.g. a tokenizer's {@code toInputs}); not closed here
 */
public record TextClassificationData(List<String> texts, int[] labels, TextEncoder encoder) implements TrainingData {

    /** Validates. */
    public TextClassificationData {
        if (texts.size() != labels.length) {
            throw new IllegalArgumentException(texts.size() + " texts but " + labels.length + " labels");
        }
    }

    @Override
    public int size() {
        return texts.size();
    }

    @Override
    public NDList inputs(int[] indices, NDManager manager) {
        List<String> batch = new ArrayList<>(indices.length);
        for (int i : indices) {
            batch.add(texts.get(i));
        }
        return encoder.encode(batch, manager);
    }

    @Override
    public NDArray labels(int[] indices, NDManager manager) {
        long[] l = new long[indices.length];
        for (int i = 0; i < indices.length; i++) {
            l[i] = labels[indices[i]];
        }
        return manager.create(l);
    }
}
