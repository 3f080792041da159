package io.github.peft4j.core.nn;

import ai.djl.nn.Block;

/**
 * A block whose children can be swapped, which opens them to activation-path adapters.
 *
 * <p>DJL blocks keep their sub-blocks in private fields, so peft4j cannot replace a child from outside. Models that
 * want their linear layers adapted on activations (the cheap path: the adapter computes on the layer input and never
 * forms the dense weight update) implement this interface. {@link ai.djl.nn.SequentialBlock} children are replaced
 * without it. Every other child is adapted on the weight path.
 */
public interface ModuleContainer extends Block {

    /**
     * Replaces a direct child.
     *
     * @param name the child's module name as it appears in the module path (e.g. {@code query})
     * @param replacement the block to use from now on; its forward must take the same inputs
     * @throws IllegalArgumentException if no child has that name
     */
    void replaceChild(String name, Block replacement);
}
