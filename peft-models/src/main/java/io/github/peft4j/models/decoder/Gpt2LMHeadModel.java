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
 * Hugging Face's {@code GPT2LMHeadModel} as a DJL block: learned positions, pre-LN blocks with GELU, fused
 * {@code Conv1D} projections ({@link Conv1D}: LoRA on them is written with {@code fan_in_fan_out: true}), and the
 * output layer tied to {@code transformer.wte}. Module paths are Hugging Face's ({@code transformer.h.0.attn.c_attn}).
 * Inputs and output: see {@link CausalLanguageModel}.
 */
public final class Gpt2LMHeadModel extends HfModule implements CausalLanguageModel {

    private final DecoderConfig config;
    private DataType dataType = DataType.FLOAT32;

    /**
     * Creates an uninitialised model.
     *
     * @param config the architecture (GPT-2)
     */
    public Gpt2LMHeadModel(DecoderConfig config) {
        if (config.family() != DecoderFamily.GPT2) {
            throw new IllegalArgumentException(config.family().architecture() + " is built by LlamaForCausalLM");
        }
        this.config = config;
        Gpt2Layers.Model transformer = register("transformer", new Gpt2Layers.Model(config));
        register(
                "lm_head",
                config.tieWordEmbeddings() ? new TiedLmHead(transformer.wte()) : new LmHead(config.vocabSize()));
    }

    @Override
    public DecoderConfig getConfig() {
        return config;
    }

    @Override
    public void initialize(NDManager manager) {
        initialize(manager, DataType.FLOAT32, new Shape(1, 8));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
        Inputs x = Inputs.of(in, params, config, dataType);
        NDArray h = module("transformer")
                .forward(ps, new NDList(x.ids(), x.positions(), x.mask()), training, params)
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
        module("transformer").initialize(m, t, in[0]);
        module("lm_head").initialize(m, t, in[0].add(config.hiddenSize()));
    }
}
