package io.github.peft4j.models.decoder;

import ai.djl.nn.core.Linear;
import io.github.peft4j.core.nn.OutputLayer;

/** An untied {@code lm_head}: a linear layer without bias that {@code all-linear} leaves out. */
public final class LmHead extends Linear implements OutputLayer {

    /**
     * Creates the head.
     *
     * @param vocabSize the output width
     */
    public LmHead(long vocabSize) {
        super(Linear.builder().setUnits(vocabSize).optBias(false));
    }
}
