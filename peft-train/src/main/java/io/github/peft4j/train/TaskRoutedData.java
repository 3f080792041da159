package io.github.peft4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.util.PairList;
import io.github.peft4j.core.PeftModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Examples of several tasks: another {@link TrainingData} with one task id per example, passed to the forward pass
 * as {@value PeftModel#TASK_IDS} (int64 [batch]) for task-routed methods (Poly/MHR), as Python PEFT's
 * {@code task_ids}.
 *
 * @param data the examples
 * @param taskIds one task id ≥ 0 per example
 */
public record TaskRoutedData(TrainingData data, int[] taskIds) implements TrainingData {

    /** Validates: one id per example, none negative. */
    public TaskRoutedData {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(taskIds, "taskIds");
        if (taskIds.length != data.size()) {
            throw new IllegalArgumentException(
                    "one task id per example: " + taskIds.length + " task ids for " + data.size() + " examples");
        }
        for (int i = 0; i < taskIds.length; i++) {
            if (taskIds[i] < 0) {
                throw new IllegalArgumentException("task id of example " + i + " is " + taskIds[i] + "; must be ≥ 0");
            }
        }
        taskIds = taskIds.clone();
    }

    @Override
    public int[] taskIds() {
        return taskIds.clone();
    }

    @Override
    public int size() {
        return data.size();
    }

    @Override
    public NDList inputs(int[] indices, NDManager manager) {
        return data.inputs(indices, manager);
    }

    @Override
    public NDArray labels(int[] indices, NDManager manager) {
        return data.labels(indices, manager);
    }

    @Override
    public PairList<String, Object> forwardParameters(int[] indices, NDManager manager) {
        long[] ids = new long[indices.length];
        for (int i = 0; i < indices.length; i++) {
            ids[i] = taskIds[indices[i]];
        }
        PairList<String, Object> inner = data.forwardParameters(indices, manager);
        List<String> keys = new ArrayList<>();
        List<Object> values = new ArrayList<>();
        if (inner != null) {
            inner.forEach(p -> {
                if (!p.getKey().equals(PeftModel.TASK_IDS)) {
                    keys.add(p.getKey());
                    values.add(p.getValue());
                }
            });
        }
        keys.add(PeftModel.TASK_IDS);
        values.add(manager.create(ids));
        return new PairList<>(keys, values);
    }
}
