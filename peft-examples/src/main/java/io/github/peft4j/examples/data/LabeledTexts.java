package io.github.peft4j.examples.data;

import io.github.peft4j.models.bert.BertTokenizer;
import io.github.peft4j.train.TextClassificationData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Texts with string labels.
 *
 * @param texts the texts
 * @param labels one label per text
 */
public record LabeledTexts(List<String> texts, List<String> labels) {

    /** Validates and copies. */
    public LabeledTexts {
        if (texts.size() != labels.size()) {
            throw new IllegalArgumentException(texts.size() + " texts but " + labels.size() + " labels");
        }
        texts = List.copyOf(texts);
        labels = List.copyOf(labels);
    }

    /**
     * Returns the number of examples.
     *
     * @return the size
     */
    public int size() {
        return texts.size();
    }

    /**
     * Returns the distinct labels, sorted: class i is the i-th.
     *
     * @return the class names
     */
    public List<String> classes() {
        return new ArrayList<>(new TreeSet<>(labels));
    }

    /**
     * Counts the examples per label.
     *
     * @return label to count, sorted by label
     */
    public Map<String, Integer> counts() {
        Map<String, Integer> c = new TreeMap<>();
        labels.forEach(l -> c.merge(l, 1, Integer::sum));
        return c;
    }

    /**
     * Returns the first {@code n} examples.
     *
     * @param n how many
     * @return a prefix
     */
    public LabeledTexts head(int n) {
        int k = Math.min(n, size());
        return new LabeledTexts(texts.subList(0, k), labels.subList(0, k));
    }

    /**
     * Turns the data into training input with a given class order.
     *
     * @param classes class names; every label must be one of them
     * @param tokenizer the tokenizer
     * @return the training data
     */
    public TextClassificationData toTrainingData(List<String> classes, BertTokenizer tokenizer) {
        int[] idx = new int[size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = classes.indexOf(labels.get(i));
            if (idx[i] < 0) {
                throw new IllegalArgumentException("label '" + labels.get(i) + "' of example " + (i + 1)
                        + " is not one of the model's classes " + classes);
            }
        }
        return new TextClassificationData(texts, idx, tokenizer::toInputs);
    }
}
