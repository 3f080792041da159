package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Hugging Face's {@code LlamaForCausalLM} as a DJL block, which with its config also builds
 * {@code MistralForCausalLM} (sliding window), {@code Qwen2ForCausalLM} (q/k/v biases) and {@code Qwen3ForCausalLM}
 * (per-head q/k RMSNorm): pre-norm decoder layers with RMSNorm, rotary embeddings, grouped-query attention and a
 * gated MLP; the head is {@code lm_head} or, with {@code tie_word_embeddings}, the input embedding. Module paths are
 * Hugging Face's ({@code model.layers.0.self_attn.q_proj}, {@code model.embed_tokens}, {@code lm_head}).
 * Inputs and output: see {@link CausalLanguageModel}.
 */
public final class LlamaForCausalLM extends DecoderModel {

    /**
     * Creates an uninitialised model.
     *
     * @param config the architecture (any family but GPT-2)
     */
    public LlamaForCausalLM(DecoderConfig config) {
        this(config, body(config));
    }

    private LlamaForCausalLM(DecoderConfig config, LlamaLayers.Model model) {
        super(config, "model", model, model.embedTokens());
    }

    private static LlamaLayers.Model body(DecoderConfig config) {
        if (config.family() == DecoderFamily.GPT2) {
            throw new IllegalArgumentException("GPT-2 checkpoints are built by Gpt2LMHeadModel");
        }
        return new LlamaLayers.Model(config);
    }

    @Override
    NDArray hidden(ParameterStore ps, Block model, Inputs x, boolean training, PairList<String, Object> params) {
        DecoderConfig c = getConfig();
        NDList rope = c.rope().cosSin(x.positions(), c.headDim(), c.maxPositions(), x.mask());
        return model.forward(ps, new NDList(x.ids(), x.mask(), rope.get(0), rope.get(1)), training, params)
                .singletonOrThrow();
    }
}
