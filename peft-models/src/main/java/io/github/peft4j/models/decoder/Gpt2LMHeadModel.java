package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Hugging Face's {@code GPT2LMHeadModel} as a DJL block: learned positions, pre-LN blocks with GELU, fused
 * {@code Conv1D} projections ({@link Conv1D}: LoRA on them is written with {@code fan_in_fan_out: true}), and the
 * output layer tied to {@code transformer.wte}. Module paths are Hugging Face's ({@code transformer.h.0.attn.c_attn}).
 * Inputs and output: see {@link CausalLanguageModel}.
 */
public final class Gpt2LMHeadModel extends DecoderModel {

    /**
     * Creates an uninitialised model.
     *
     * @param config the architecture (GPT-2)
     */
    public Gpt2LMHeadModel(DecoderConfig config) {
        this(config, body(config));
    }

    private Gpt2LMHeadModel(DecoderConfig config, Gpt2Layers.Model transformer) {
        super(config, "transformer", transformer, transformer.wte());
    }

    private static Gpt2Layers.Model body(DecoderConfig config) {
        if (config.family() != DecoderFamily.GPT2) {
            throw new IllegalArgumentException(config.family().architecture() + " is built by LlamaForCausalLM");
        }
        return new Gpt2Layers.Model(config);
    }

    @Override
    NDArray hidden(ParameterStore ps, Block transformer, Inputs x, boolean training, PairList<String, Object> params) {
        return transformer
                .forward(ps, new NDList(x.ids(), x.positions(), x.mask()), training, params)
                .singletonOrThrow();
    }
}
