package io.github.peft4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * An adapter's trainable copies of its {@code modules_to_save} (a classification head, trained fully and saved
 * whole). The base model keeps its own parameters; while the adapter is active the model reads the copies.
 */
final class SavedModules implements AutoCloseable {

    /** Full parameter path to (original, copy). */
    private final Map<String, Parameter[]> byPath = new LinkedHashMap<>();

    private final Map<String, Parameter> copyByOriginalId = new HashMap<>();
    private final Set<String> modules = new TreeSet<>();

    private SavedModules() {}

    /**
     * Copies every module that a name of {@code modulesToSave} matches (not inside another saved module).
     *
     * @param nodes the model's modules
     * @param modulesToSave the config's names
     * @param manager owns the copies
     * @return the copies
     */
    static SavedModules copy(List<ModuleTree.Node> nodes, List<String> modulesToSave, NDManager manager) {
        SavedModules s = new SavedModules();
        if (modulesToSave.isEmpty()) {
            return s;
        }
        ModuleSelector selector = ModuleSelector.names(modulesToSave);
        for (ModuleTree.Node n : nodes) {
            if (n.path().isEmpty()
                    || !selector.matches(n.path())
                    || s.modules.stream().anyMatch(m -> n.path().startsWith(m + "."))) {
                continue;
            }
            s.modules.add(n.path());
            for (Map.Entry<String, Parameter> e :
                    ModuleTree.namedParameters(n.block()).entrySet()) {
                Parameter orig = e.getValue();
                NDArray copy = orig.getArray().duplicate();
                copy.attach(manager);
                Parameter p = Parameter.builder()
                        .setName(orig.getName())
                        .setType(orig.getType())
                        .optArray(copy)
                        .build();
                s.byPath.put(n.path() + "." + e.getKey(), new Parameter[] {orig, p});
                s.copyByOriginalId.put(orig.getId(), p);
            }
        }
        return s;
    }

    /**
     * Returns the copy that stands for a base parameter, or null when the parameter is not saved whole.
     *
     * @param original a base parameter
     * @return the copy, or null
     */
    Parameter copyOf(Parameter original) {
        return copyByOriginalId.get(original.getId());
    }

    /** The copies keyed by their full parameter path. */
    Map<String, Parameter> parameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        byPath.forEach((k, v) -> out.put(k, v[1]));
        return out;
    }

    /** The saved module paths. */
    Set<String> modules() {
        return modules;
    }

    boolean isEmpty() {
        return byPath.isEmpty();
    }

    /** Writes the copies' values into the base modules (merge-and-unload). */
    void writeBack() {
        for (Parameter[] p : byPath.values()) {
            ParameterValues.copyInto(p[0].getArray(), p[1].getArray());
        }
    }

    void setTrainable(boolean train) {
        byPath.values().forEach(p -> p[1].freeze(!train));
    }

    @Override
    public void close() {
        byPath.values().forEach(p -> p[1].close());
    }
}
