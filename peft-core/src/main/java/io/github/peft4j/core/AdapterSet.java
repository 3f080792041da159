package io.github.peft4j.core;

import ai.djl.nn.Parameter;
import ai.djl.util.PairList;
import io.github.peft4j.core.io.AdapterFiles;
import io.github.peft4j.core.nn.RowGroups;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The adapters of a {@link PeftModel} by name, which one is active, whether adapters are enabled, and what that means
 * for a forward pass: which layer adapter applies and which parameters the base model reads.
 */
final class AdapterSet {

    private final Map<String, NamedAdapter<?, ?>> adapters = new LinkedHashMap<>();
    private final ThreadLocal<RowGroups> mixed = new ThreadLocal<>();
    private final ThreadLocal<PairList<String, Object>> forwardParameters = new ThreadLocal<>();
    private String active;
    private boolean enabled = true;

    /** Fails unless a name can be given to a new adapter (free, and usable as a folder name). */
    void checkNewName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9_.-]+") || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException(
                    "adapter name must consist of letters, digits, '-', '_' and '.';" + " got '" + name + "'");
        }
        if (name.equals(AdapterFiles.CONFIG)
                || name.equals(AdapterFiles.WEIGHTS)
                || name.equals(AdapterFiles.CARD)
                || name.equals(TrainingStateFiles.INDEX)) {
            throw new IllegalArgumentException("adapter name '" + name + "' is reserved: it is the name of a file in"
                    + " an adapter directory, and adapters other than 'default' are saved in a folder of their name");
        }
        if (adapters.containsKey(name)) {
            throw new IllegalArgumentException(
                    "an adapter named '" + name + "' exists already; adapters: " + adapters.keySet());
        }
    }

    NamedAdapter<?, ?> get(String name) {
        return adapters.get(name);
    }

    /** The adapter of that name, or an error listing the adapters. */
    NamedAdapter<?, ?> require(String name) {
        NamedAdapter<?, ?> a = adapters.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no adapter named '" + name + "'; adapters: " + adapters.keySet());
        }
        return a;
    }

    /** The active adapter, or an error when there is none. */
    NamedAdapter<?, ?> requireActive() {
        if (active == null) {
            throw new IllegalStateException("there is no adapter; add one with addAdapter or loadAdapter");
        }
        return adapters.get(active);
    }

    boolean contains(String name) {
        return adapters.containsKey(name);
    }

    List<String> names() {
        return List.copyOf(adapters.keySet());
    }

    Collection<NamedAdapter<?, ?>> all() {
        return adapters.values();
    }

    boolean isEmpty() {
        return adapters.isEmpty();
    }

    /** Adds an adapter; the first one becomes active. */
    void add(NamedAdapter<?, ?> a) {
        adapters.put(a.name, a);
        if (active == null) {
            active = a.name;
        }
        applyTrainability();
    }

    /** Removes and closes an adapter; if it was active, the first remaining one becomes active. */
    void remove(String name) {
        NamedAdapter<?, ?> a = adapters.remove(name);
        a.close();
        if (name.equals(active)) {
            active = adapters.isEmpty() ? null : adapters.keySet().iterator().next();
        }
        applyTrainability();
    }

    /** Whether another adapter than {@code name} is injected at a layer. */
    boolean othersUse(String path) {
        return adapters.values().stream().anyMatch(o -> o.layers().containsKey(path));
    }

    String active() {
        return active;
    }

    void setActive(String name) {
        require(name);
        active = name;
        applyTrainability();
    }

    boolean enabled() {
        return enabled;
    }

    void setEnabled(boolean on) {
        enabled = on;
    }

    /** Closes every adapter and forgets them. */
    void clear() {
        adapters.values().forEach(NamedAdapter::close);
        adapters.clear();
        active = null;
    }

    /** The adapter applied at an injected layer on this pass, or null (disabled, merged, or not targeted). */
    LayerAdapter applicable(Injector.Injected layer) {
        if (!enabled || active == null || layer.merged != null) {
            return null;
        }
        return adapters.get(active).layers().get(layer.target.path());
    }

    /** The groups of the mixed-adapter batch this thread is computing, or null. */
    RowGroups rowGroups() {
        return mixed.get();
    }

    /** Sets (or with null, clears) the groups of this thread's mixed-adapter batch. */
    void setRowGroups(RowGroups groups) {
        if (groups == null) {
            mixed.remove();
        } else {
            mixed.set(groups);
        }
    }

    /** The forward parameters of this thread's pass under way, read by per-row routing adapters. */
    ForwardParameters forwardParameters() {
        return name -> {
            PairList<String, Object> p = forwardParameters.get();
            return p == null ? null : p.get(name);
        };
    }

    /**
     * Sets this thread's forward parameters for a pass and returns the ones it replaces (a nested pass restores them).
     */
    PairList<String, Object> swapForwardParameters(PairList<String, Object> params) {
        PairList<String, Object> before = forwardParameters.get();
        if (params == null) {
            forwardParameters.remove();
        } else {
            forwardParameters.set(params);
        }
        return before;
    }

    /** The adapter of a name at a layer for a group of a mixed batch, or null for the base layer alone. */
    LayerAdapter named(Injector.Injected layer, String name) {
        NamedAdapter<?, ?> a = adapters.get(name);
        return a == null ? null : a.layers().get(layer.target.path());
    }

    /** The copy of a base parameter that a named adapter saved whole, or null. */
    Parameter savedCopy(String name, Parameter p) {
        NamedAdapter<?, ?> a = adapters.get(name);
        return a == null ? null : a.saved.copyOf(p);
    }

    /**
     * The parameter the base model reads: the active adapter's copy of a module saved whole, else the parameter. (A
     * mixed batch does not use it: its store reads parameters as they are, and the saved module's wrapper picks the
     * copy per group of rows.)
     */
    Parameter redirect(Parameter p) {
        if (enabled && active != null) {
            Parameter copy = adapters.get(active).saved.copyOf(p);
            if (copy != null) {
                return copy;
            }
        }
        return p;
    }

    /** The adapter whose training hooks run: the active one while enabled and not merged, else null. */
    NamedAdapter<?, ?> hookTarget(boolean merged) {
        return !enabled || active == null || merged ? null : adapters.get(active);
    }

    /** Only the active adapter trains. */
    private void applyTrainability() {
        adapters.values().forEach(a -> a.setTrainable(a.name.equals(active)));
    }
}
