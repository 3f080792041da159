package io.github.peft4j.core.nn;

import ai.djl.nn.Block;

/**
 * A linear layer whose Hugging Face checkpoint stores the weight transposed, as [in, out] (GPT-2's {@code Conv1D}).
 * In memory it is a {@link ai.djl.nn.core.Linear} with the usual [out, in] weight, so every method adapts it unchanged;
 * model loaders transpose its weight on the way in and out, and LoRA writes {@code fan_in_fan_out: true} for it, as
 * Python PEFT does, so that Python merges the update the right way round.
 */
public interface FanInFanOut extends Block {}
