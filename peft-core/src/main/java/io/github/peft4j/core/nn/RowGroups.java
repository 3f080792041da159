package io.github.peft4j.core.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The rows of a mixed-adapter batch grouped by the name each row asks for (Python PEFT's {@code adapter_names=}): the
 * groups in order of first appearance, the row indices of each, and the order that puts the groups' outputs back in
 * row order. A layer computes each group on its own rows ({@link #select}) and {@link #assemble}s the results.
 */
public final class RowGroups {

    private final List<String> names;
    private final List<NDArray> rows;
    private final NDArray order;
    private final int batch;

    private RowGroups(List<String> names, List<NDArray> rows, NDArray order, int batch) {
        this.names = names;
        this.rows = rows;
        this.order = order;
        this.batch = batch;
    }

    /**
     * Groups the rows of a batch by name.
     *
     * @param rowNames one name per row
     * @param manager owns the index arrays (the forward pass's scope)
     * @param device the device of the batch
     * @return the groups
     */
    public static RowGroups of(List<String> rowNames, NDManager manager, Device device) {
        Map<String, List<Integer>> byName = new LinkedHashMap<>();
        for (int i = 0; i < rowNames.size(); i++) {
            byName.computeIfAbsent(rowNames.get(i), k -> new ArrayList<>()).add(i);
        }
        List<String> names = List.copyOf(byName.keySet());
        List<NDArray> rows = new ArrayList<>();
        long[] inverse = new long[rowNames.size()];
        int position = 0;
        for (List<Integer> group : byName.values()) {
            long[] idx = new long[group.size()];
            for (int j = 0; j < idx.length; j++) {
                idx[j] = group.get(j);
                inverse[group.get(j)] = position++;
            }
            rows.add(manager.create(idx).toDevice(device, false));
        }
        NDArray order = manager.create(inverse).toDevice(device, false);
        return new RowGroups(names, List.copyOf(rows), order, rowNames.size());
    }

    /**
     * One group: every row of a batch asks for the same name (inside a module that already runs one group's rows).
     *
     * @param name the name
     * @param rows the number of rows
     * @return the group
     */
    public static RowGroups single(String name, int rows) {
        return new RowGroups(List.of(name), List.of(), null, rows);
    }

    /**
     * The names of the groups, in order of first appearance.
     *
     * @return one name per group
     */
    public List<String> names() {
        return names;
    }

    /**
     * The number of rows of the batch.
     *
     * @return the batch size
     */
    public int batchSize() {
        return batch;
    }

    /**
     * Whether every row asks for the same name.
     *
     * @return true for one group
     */
    public boolean isSingle() {
        return names.size() == 1;
    }

    /**
     * The rows of a group along the first axis; the array itself when there is one group.
     *
     * @param x an array whose first axis is the batch
     * @param group the group's position in {@link #names()}
     * @return the group's rows
     */
    public NDArray select(NDArray x, int group) {
        return isSingle() ? x : x.get(new NDIndex("{}", rows.get(group)));
    }

    /**
     * Selects a group's rows from every array of a list whose first axis is the batch; other arrays pass as they are.
     *
     * @param inputs the arrays
     * @param group the group's position
     * @return the group's inputs
     */
    public NDList select(NDList inputs, int group) {
        NDList out = new NDList(inputs.size());
        for (NDArray a : inputs) {
            boolean batched = a.getShape().dimension() > 0 && a.getShape().get(0) == batch;
            out.add(batched ? select(a, group) : a);
        }
        return out;
    }

    /**
     * Puts the groups' outputs back in row order.
     *
     * @param parts one output per group, in group order, each with its group's rows first
     * @return the batch's output
     */
    public NDArray assemble(List<NDArray> parts) {
        if (parts.size() != names.size()) {
            throw new IllegalArgumentException(
                    "expected one output per group (" + names.size() + "), got " + parts.size());
        }
        if (isSingle()) {
            return parts.get(0);
        }
        return NDArrays.concat(new NDList(parts), 0).get(new NDIndex("{}", order));
    }
}
