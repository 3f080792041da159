package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.models.HfModule;

/**
 * Hugging Face's {@code LlamaForCausalLM} as a DJL block, which with its config also builds
 * {@code MistralForCausalLM} (sliding window), {@code Qwen2ForCausalLM} (q/k/v biases) and {@code Qwen3ForCausalLM}
 * (per-head q/k RMSNorm): pre-norm decoder layers with RMSNorm, rotary embeddings, grouped-query attention and a
 * gated MLP; the head is {@code lm_head} or, with {@code tie_word_embeddings}, the input embedding. Module paths are
 * Hugging Face's ({@code model.layers.0.self_attn.q_proj}, {@code model.embed_tokens}, {@code lm_head}).
 * Inputs and output: see {@link CausalLanguageModel}.
 */
public final class LlamaForCausalLM extends HfModule implements CausalLanguageModel {

    private final DecoderConfig config;
    private DataType dataType = DataType.FLOAT32;

    /**
     * Creates an uninitialised model.
     *
     * @param config the architecture (any family but GPT-2)
     */
    public LlamaForCausalLM(DecoderConfig config) {
        if (config.family() == DecoderFamily.GPT2) {
            throw new IllegalArgumentException("GPT-2 checkpoints are built by Gpt2LMHeadModel");
        }
        this.config = config;
        LlamaLayers.Model model = register("model", new LlamaLayers.Model(config));
        register(
                "lm_head",
                config.tieWordEmbeddings() ? new TiedLmHead(model.embedTokens()) : new LmHead(config.vocabSize()));
    }

    @Override
    public DecoderConfig getConfig() {
        return config;
    }

    @Override
    public void initialize(NDManager manager) {
        Shape s = new Shape(1, 8);
        initialize(manager, DataType.FLOAT32, s);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
        Inputs x = Inputs.of(in, params, config, dataType);
        NDList rope = config.rope().cosSin(x.positions(), config.headDim(), config.maxPositions(), x.mask());
        NDArray h = module("model")
                .forward(ps, new NDList(x.ids(), x.mask(), rope.get(0), rope.get(1)), training, params)
                .singletonOrThrow();
        return new NDList(Ops.call(module("lm_head"), ps, training, params, h));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] in) {
        return new Shape[] {in[0].add(config.vocabSize())};
    }

    @Override
    protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
        dataType = t;
        module("model").initialize(m, t, in[0]);
        module("lm_head").initialize(m, t, in[0].add(config.hiddenSize()));
    }
}
