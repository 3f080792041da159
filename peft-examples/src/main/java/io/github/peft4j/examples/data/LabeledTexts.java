package io.github.peft4j.examples.data;

import io.github.peft4j.models.bert.BertTokenizer;
import io.github.peft4j.train.TaskRoutedData;
import io.github.peft4j.train.TextClassificationData;
import io.github.peft4j.train.TrainingData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Texts with string labels, and optionally the task of each (for task-routed methods such as Poly).
 *
 * @param texts the texts
 * @param labels one label per text
 * @param tasks one task id ≥ 0 per text, or empty when the data names no tasks
 */
public record LabeledTexts(List<String> texts, List<String> labels, List<Integer> tasks) {

    /** Validates and copies. */
    public LabeledTexts {
        if (texts.size() != labels.size()) {
            throw new IllegalArgumentException(texts.size() + " texts but " + labels.size() + " labels");
        }
        if (!tasks.isEmpty() && tasks.size() != texts.size()) {
            throw new IllegalArgumentException(texts.size() + " texts but " + tasks.size() + " task ids");
        }
        texts = List.copyOf(texts);
        labels = List.copyOf(labels);
        tasks = List.copyOf(tasks);
    }

    /**
     * Texts with labels and no tasks.
     *
     * @param texts the texts
     * @param labels one label per text
     */
    public LabeledTexts(List<String> texts, List<String> labels) {
        this(texts, labels, List.of());
    }

    /**
     * Returns the largest task id, or -1 when the data names no tasks.
     *
     * @return the largest id
     */
    public int maxTask() {
        return tasks.stream().mapToInt(Integer::intValue).max().orElse(-1);
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
        return new LabeledTexts(
                texts.subList(0, k), labels.subList(0, k), tasks.isEmpty() ? tasks : tasks.subList(0, k));
    }

    /**
     * Turns the data into training input with a given class order.
     *
     * @param classes class names; every label must be one of them
     * @param tokenizer the tokenizer
     * @return the training data, each example routed to its task ({@link TaskRoutedData}) when the data names tasks
     */
    public TrainingData toTrainingData(List<String> classes, BertTokenizer tokenizer) {
        int[] idx = new int[size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = classes.indexOf(labels.get(i));
            if (idx[i] < 0) {
                throw new IllegalArgumentException("label '" + labels.get(i) + "' of example " + (i + 1)
                        + " is not one of the model's classes " + classes);
            }
        }
        TextClassificationData data = new TextClassificationData(texts, idx, tokenizer::toInputs);
        return tasks.isEmpty()
                ? data
                : new TaskRoutedData(
                        data, tasks.stream().mapToInt(Integer::intValue).toArray());
    }
}
