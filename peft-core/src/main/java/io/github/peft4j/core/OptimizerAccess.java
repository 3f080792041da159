package io.github.peft4j.core;

import ai.djl.nn.Parameter;

/**
 * What a training loop lets an adapter method do to its optimizer between steps: methods whose trainable entries
 * change meaning during training (SpIEL regrowing positions, SaRA freezing entries) reset the optimizer state of those
 * entries.
 */
public interface OptimizerAccess {

    /**
     * Resets the optimizer state (e.g. AdamW's moments) of some entries of a parameter to its initial value.
     *
     * @param parameter a trainable parameter
     * @param positions flat positions in the parameter's array
     */
    void resetState(Parameter parameter, int[] positions);

    /** An optimizer without per-entry state (or none): resetting does nothing. */
    OptimizerAccess NONE = (p, positions) -> {};
}
