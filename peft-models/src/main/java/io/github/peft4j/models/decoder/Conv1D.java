package io.github.peft4j.models.decoder;

import ai.djl.nn.core.Linear;
import io.github.peft4j.core.nn.FanInFanOut;

/**
 * GPT-2's {@code Conv1D}: a linear layer with bias whose checkpoint stores the weight as [in, out]. In memory the
 * weight is [out, in] like any {@link Linear}'s; {@link DecoderWeights} transposes it on load and save.
 */
public final class Conv1D extends Linear implements FanInFanOut {

    /**
     * Creates the layer.
     *
     * @param units the output width
     */
    public Conv1D(long units) {
        super(Linear.builder().setUnits(units).optBias(true));
    }
}
