package io.github.peft4j.core;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.BlockList;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.nn.AdaptedBlock;
import io.github.peft4j.core.nn.LayerRouting;
import io.github.peft4j.core.nn.MixedLinear;
import io.github.peft4j.core.nn.ModuleContainer;
import io.github.peft4j.core.nn.RowGroups;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Puts adapters in the way of their layers and takes them out again: an {@link AdaptedBlock} in place of the layer
 * on the activation path, or an entry in the weight-path table that {@link InterceptingStore} consults. One entry per
 * adapted layer, shared by every adapter that targets it.
 */
final class Injector {

    /** One layer that hosts at least one adapter. */
    static final class Injected {
        final TargetLayer target;
        final ModuleTree.Node node;
        final InjectionMode mode;
        AdaptedBlock wrapper;
        /** The name of the adapter merged into this layer's weights, or null. */
        String merged;

        Injected(TargetLayer target, ModuleTree.Node node, InjectionMode mode) {
            this.target = target;
            this.node = node;
            this.mode = mode;
        }
    }

    private final InjectionMode requested;
    private final AdapterSet adapters;
    private final Map<String, Injected> layers = new LinkedHashMap<>();
    private final Map<String, Injected> weightPathByParamId = new HashMap<>();

    /**
     * Creates the injector.
     *
     * @param requested how adapters should reach layers
     * @param adapters the adapters, which say which one applies to a layer on a pass
     */
    Injector(InjectionMode requested, AdapterSet adapters) {
        this.requested = requested;
        this.adapters = adapters;
    }

    /** Whether a module's parent can swap it for a wrapper. */
    static boolean replaceable(ModuleTree.Node n) {
        return n.parent() instanceof SequentialBlock || n.parent() instanceof ModuleContainer;
    }

    /** The path a layer would be (or is) reached on. */
    InjectionMode modeFor(ModuleTree.Node n) {
        Injected existing = layers.get(n.path());
        if (existing != null) {
            return existing.mode;
        }
        return requested == InjectionMode.AUTO
                ? (replaceable(n) ? InjectionMode.ACTIVATION : InjectionMode.WEIGHT)
                : requested;
    }

    /**
     * Fails when a layer cannot take an adapter of a method: the activation path was forced where the parent cannot
     * swap children, or the method needs the activation path and the layer is on the weight path.
     */
    void check(ModuleTree.Node n, AdapterMethod<?, ?> method, String peftType) {
        String parent = n.parent() == null
                ? "(none: it is the root)"
                : n.parent().getClass().getSimpleName();
        if (!layers.containsKey(n.path()) && requested == InjectionMode.ACTIVATION && !replaceable(n)) {
            throw new IllegalArgumentException("layer '" + n.path() + "' cannot take an activation-path adapter: its"
                    + " parent " + parent + " is neither a SequentialBlock nor a ModuleContainer; use"
                    + " InjectionMode.AUTO or WEIGHT");
        }
        if (!method.supportsWeightPath() && modeFor(n) == InjectionMode.WEIGHT) {
            throw new IllegalArgumentException(peftType + " needs the activation path but layer '" + n.path()
                    + "' is reached on the weight path (its parent " + parent + " cannot swap children): use a"
                    + " model whose blocks are a SequentialBlock or a ModuleContainer");
        }
    }

    /** The target a layer offers to methods (the injected one when the layer already hosts an adapter). */
    TargetLayer targetLayer(ModuleTree.Node n) {
        Injected existing = layers.get(n.path());
        if (existing != null) {
            return existing.target;
        }
        if (n.block() instanceof MixedLinear m && m.storesWeightInBf16()) {
            throw new IllegalStateException("layer '" + n.path() + "' holds its frozen weight in bf16 (Bf16Base.store,"
                    + " --precision bf16): add and initialise adapters before storing the base in bf16");
        }
        Parameter w = n.block().getDirectParameters().get("weight");
        Parameter bias = n.block().getDirectParameters().get("bias");
        Shape s = w.getArray().getShape();
        // [out, in] for linear layers; [dim] for normalisations, whose input and output widths are both dim
        return new TargetLayer(n.path(), n.block(), w, bias, s.get(s.dimension() - 1), s.get(0));
    }

    /** Injects at a layer unless it already hosts an adapter. */
    void injectIfAbsent(ModuleTree.Node n) {
        if (layers.containsKey(n.path())) {
            return;
        }
        Injected layer = new Injected(targetLayer(n), n, modeFor(n));
        if (layer.mode == InjectionMode.ACTIVATION) {
            layer.wrapper = new AdaptedBlock(n.block(), new LayerRouting() {
                @Override
                public LayerAdapter active() {
                    return adapters.applicable(layer);
                }

                @Override
                public RowGroups rowGroups() {
                    return adapters.rowGroups();
                }

                @Override
                public LayerAdapter adapter(String name) {
                    return adapters.named(layer, name);
                }
            });
            replaceChild(n, layer.wrapper);
        } else {
            weightPathByParamId.put(layer.target.weight().getId(), layer);
        }
        layers.put(n.path(), layer);
    }

    /** Removes the injection at a layer. */
    void eject(String path) {
        Injected l = layers.remove(path);
        if (l == null) {
            return;
        }
        if (l.wrapper != null) {
            replaceChild(l.node, l.target.block());
        } else {
            weightPathByParamId.remove(l.target.weight().getId());
        }
    }

    /** Removes every injection. */
    void ejectAll() {
        for (String path : new ArrayList<>(layers.keySet())) {
            eject(path);
        }
    }

    Injected get(String path) {
        return layers.get(path);
    }

    Collection<Injected> all() {
        return layers.values();
    }

    /**
     * Merges an adapter into the weights of its layers; on failure unmerges the layers already merged.
     *
     * @param a the adapter
     */
    void merge(NamedAdapter<?, ?> a) {
        List<Map.Entry<String, ? extends LayerAdapter>> done = new ArrayList<>();
        try {
            for (Map.Entry<String, ? extends LayerAdapter> e : a.layers().entrySet()) {
                Injected l = layers.get(e.getKey());
                e.getValue().merge(l.target.weight().getArray());
                l.merged = a.name;
                done.add(e);
            }
        } catch (RuntimeException ex) {
            for (Map.Entry<String, ? extends LayerAdapter> e : done) {
                Injected l = layers.get(e.getKey());
                e.getValue().unmerge(l.target.weight().getArray());
                l.merged = null;
            }
            throw ex;
        }
    }

    /**
     * Unmerges whatever is merged.
     *
     * @param adapters the adapter of a name
     */
    void unmerge(Function<String, NamedAdapter<?, ?>> adapters) {
        for (Injected l : layers.values()) {
            if (l.merged != null) {
                adapters.apply(l.merged)
                        .layers()
                        .get(l.target.path())
                        .unmerge(l.target.weight().getArray());
                l.merged = null;
            }
        }
    }

    boolean anyMerged() {
        return layers.values().stream().anyMatch(l -> l.merged != null);
    }

    /**
     * Returns the parameter store the base model sees during a forward pass.
     *
     * @param delegate the caller's store
     * @param scope the pass's manager
     * @param redirect the parameter to read in place of a base parameter (a saved module's copy), or the same
     * @return the store
     */
    ParameterStore store(ParameterStore delegate, NDManager scope, Function<Parameter, Parameter> redirect) {
        return new InterceptingStore(delegate, scope, redirect, p -> {
            Injected l = weightPathByParamId.get(p.getId());
            return l == null ? null : adapters.applicable(l);
        });
    }

    /** Puts a block in place of a module in its parent (a {@link ModuleContainer} or a {@link SequentialBlock}). */
    static void replaceChild(ModuleTree.Node n, Block replacement) {
        if (n.parent() instanceof ModuleContainer c) {
            c.replaceChild(n.name(), replacement);
            return;
        }
        SequentialBlock seq = (SequentialBlock) n.parent();
        BlockList children = seq.getChildren();
        List<Block> tail = new ArrayList<>();
        for (int i = children.size() - 1; i >= n.index(); i--) {
            tail.add(0, children.get(i).getValue());
            seq.removeLastBlock();
        }
        tail.set(0, replacement);
        tail.forEach(seq::add);
    }
}
