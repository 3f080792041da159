package io.github.peft4j.core;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.nn.RowGroups;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What mixed-adapter batches need beyond the adapted layers: the forward parameter that names each row's adapter, the
 * checks that a batch can run, and the wrappers of modules saved whole ({@link SavedModuleBlock}), inserted when an
 * adapter saves a module and removed when none does.
 */
final class MixedBatches {

    private final Block base;
    private final AdapterSet adapters;
    private final Injector injector;
    private final Map<String, SavedModuleBlock> savedWrappers = new LinkedHashMap<>();

    MixedBatches(Block base, AdapterSet adapters, Injector injector) {
        this.base = base;
        this.adapters = adapters;
        this.injector = injector;
    }

    /** The row names of the forward parameter {@value PeftModel#ADAPTER_NAMES}, or null when absent. */
    static List<String> adapterNames(PairList<String, Object> params) {
        if (params == null) {
            return null;
        }
        Object v = params.get(PeftModel.ADAPTER_NAMES);
        if (v == null) {
            return null;
        }
        if (!(v instanceof List<?> l) || l.stream().anyMatch(e -> !(e instanceof String))) {
            throw new IllegalArgumentException(
                    "forward parameter '" + PeftModel.ADAPTER_NAMES + "' must be a List<String> of"
                            + " one adapter name per row; got " + v.getClass().getName());
        }
        List<String> names = new ArrayList<>();
        l.forEach(e -> names.add((String) e));
        return names;
    }

    /** Runs a mixed-adapter batch (after {@link #check}): each group of rows through its adapter. */
    NDList forward(
            ParameterStore store,
            NDList inputs,
            boolean training,
            List<String> rowNames,
            PairList<String, Object> params) {
        check(rowNames, inputs, training);
        NDManager scope = inputs.head().getManager();
        adapters.setRowGroups(RowGroups.of(rowNames, scope, inputs.head().getDevice()));
        try {
            return base.forward(injector.store(store, scope, p -> p), inputs, false, params);
        } finally {
            adapters.setRowGroups(null);
        }
    }

    /** Fails unless a batch can run with these row names; the message says why and what would. */
    private void check(List<String> rowNames, NDList inputs, boolean training) {
        if (training) {
            throw new IllegalArgumentException("mixed-adapter batches (" + PeftModel.ADAPTER_NAMES
                    + ") are for inference; the" + " forward pass was called with training=true");
        }
        if (injector.anyMerged()) {
            throw new IllegalStateException("cannot run a mixed-adapter batch while adapter '" + adapters.active()
                    + "' is merged into the base weights; call unmerge() first");
        }
        Shape shape = inputs.head().getShape();
        long rows = shape.dimension() == 0 ? 0 : shape.get(0);
        if (rowNames.size() != rows) {
            throw new IllegalArgumentException(
                    PeftModel.ADAPTER_NAMES + " has " + rowNames.size() + " name(s) for a batch of " + rows
                            + " row(s) (input shape " + shape + "): give one adapter name per row");
        }
        for (String n : new LinkedHashSet<>(rowNames)) {
            if (n.equals(PeftModel.BASE_ROWS)) {
                continue;
            }
            NamedAdapter<?, ?> a = adapters.get(n);
            if (a == null) {
                throw new IllegalArgumentException("mixed batch names adapter '" + n + "', which is not loaded;"
                        + " adapters: " + adapters.names() + " (or " + PeftModel.BASE_ROWS + " for the base model)");
            }
            for (String path : a.layers().keySet()) {
                if (injector.get(path).mode != InjectionMode.ACTIVATION) {
                    throw new IllegalArgumentException("adapter '" + n + "' reaches layer '" + path + "' on the"
                            + " weight path, where one weight serves the whole batch: mixed-adapter batches need"
                            + " every adapted layer on the activation path (a model of SequentialBlocks or"
                            + " ModuleContainers)");
                }
            }
            for (String m : a.saved.modules()) {
                if (!savedWrappers.containsKey(m)) {
                    throw new IllegalArgumentException("adapter '" + n + "' saves module '" + m + "' whole, and its"
                            + " parent cannot swap it for the wrapper that picks each row's copy: mixed-adapter"
                            + " batches need such modules in a SequentialBlock or a ModuleContainer");
                }
            }
        }
    }

    /** Wraps the modules saved whole that are not wrapped yet and that their parents can swap. */
    void wrapSavedModules(Set<String> paths) {
        if (paths.isEmpty()) {
            return;
        }
        Map<String, ModuleTree.Node> nodes = ModuleTree.byPath(base);
        for (String path : paths) {
            ModuleTree.Node n = nodes.get(path);
            if (savedWrappers.containsKey(path)
                    || n == null
                    || !Injector.replaceable(n)
                    || injector.get(path) != null) {
                continue;
            }
            SavedModuleBlock w = new SavedModuleBlock(n.block(), adapters);
            Injector.replaceChild(n, w);
            savedWrappers.put(path, w);
        }
    }

    /** Removes the wrappers of modules no adapter saves any more (every wrapper with {@code all}). */
    void unwrapSavedModules(boolean all) {
        Set<String> used = new HashSet<>();
        if (!all) {
            adapters.all().forEach(a -> used.addAll(a.saved.modules()));
        }
        for (String path : List.copyOf(savedWrappers.keySet())) {
            if (used.contains(path)) {
                continue;
            }
            SavedModuleBlock w = savedWrappers.remove(path);
            Injector.replaceChild(ModuleTree.byPath(base).get(path), w.base());
        }
    }
}
