package io.github.peft4j.models;

import ai.djl.ndarray.NDList;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.BlockList;
import io.github.peft4j.core.nn.LayerScope;
import io.github.peft4j.core.nn.ModuleContainer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Base of peft4j's model blocks: children are registered under their Hugging Face attribute names (so module paths
 * equal PyTorch's) and can be replaced, which opens every linear layer to activation-path adapters.
 */
public abstract class HfModule extends AbstractBlock implements ModuleContainer {

    private final Map<String, Block> modules = new LinkedHashMap<>();

    /** Creates the module. */
    protected HfModule() {}

    /**
     * Registers a child under its Hugging Face name.
     *
     * @param name the attribute name, e.g. {@code query}
     * @param block the child
     * @param <B> the child type
     * @return the child
     */
    protected final <B extends Block> B register(String name, B block) {
        modules.put(name, block);
        addChildBlock(name, block);
        return block;
    }

    /**
     * Returns a child as it stands now (possibly an adapter wrapper).
     *
     * @param name the attribute name
     * @return the child
     */
    protected final Block module(String name) {
        Block b = modules.get(name);
        if (b == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " has no module '" + name + "'");
        }
        return b;
    }

    /**
     * Runs a layer's computation in a manager of its own and keeps only its outputs ({@link LayerScope}).
     *
     * @param inputs the layer's inputs
     * @param body the computation
     * @return the outputs, attached to the manager of the first input
     */
    protected static NDList scoped(NDList inputs, UnaryOperator<NDList> body) {
        return LayerScope.run(inputs, body);
    }

    @Override
    public void replaceChild(String name, Block replacement) {
        if (!modules.containsKey(name)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " has no module '" + name + "'; modules: "
                    + new ArrayList<>(modules.keySet()));
        }
        modules.put(name, replacement);
        BlockList rebuilt = new BlockList(modules.size());
        int i = 1;
        for (Map.Entry<String, Block> e : modules.entrySet()) {
            rebuilt.add(String.format(Locale.ROOT, "%02d%s", i++, e.getKey()), e.getValue());
        }
        children = rebuilt;
    }
}
