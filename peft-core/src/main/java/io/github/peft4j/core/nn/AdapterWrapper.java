package io.github.peft4j.core.nn;

import ai.djl.nn.Block;

/**
 * A block that peft4j inserted in place of a base module (the activation path). Module paths look through it: the
 * wrapper keeps the path of the module it wraps, so adapter keys stay the Hugging Face names of the base model.
 */
public interface AdapterWrapper extends Block {

    /**
     * Returns the base module this wrapper adapts.
     *
     * @return the wrapped block
     */
    Block base();
}
