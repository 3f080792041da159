package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.models.HfModule;

/**
 * What the decoder families share: a body module ({@code model} or {@code transformer}) that turns ids into hidden
 * states, an {@code lm_head} (its own, or the tied input embedding), the inputs completed with their defaults and the
 * additive mask in the model's data type.
 */
abstract class DecoderModel extends HfModule implements CausalLanguageModel {

    private final DecoderConfig config;
    private final String body;
    private final Block embedding;
    private DataType dataType = DataType.FLOAT32;

    /**
     * Registers the body and the head.
     *
     * @param config the architecture
     * @param body the body's module name
     * @param module the body
     * @param embedding the input embedding the head reads when the embeddings are tied
     */
    DecoderModel(DecoderConfig config, String body, Block module, Block embedding) {
        this.config = config;
        this.body = body;
        this.embedding = embedding;
        register(body, module);
        register("lm_head", config.tieWordEmbeddings() ? new TiedLmHead(embedding) : new LmHead(config.vocabSize()));
    }

    /**
     * The body's forward pass.
     *
     * @param ps the parameter store
     * @param module the body
     * @param x the completed inputs
     * @param training whether training
     * @param params the forward parameters (the KV cache)
     * @return hidden states [batch, seq, hidden]
     */
    abstract NDArray hidden(
            ParameterStore ps, Block module, Inputs x, boolean training, PairList<String, Object> params);

    @Override
    public Block inputEmbedding() {
        return embedding;
    }

    /**
     * The embeddings of a forward pass: those passed as {@link CausalLanguageModel#INPUTS_EMBEDS}, or the embedding of
     * the ids.
     */
    static NDArray embed(
            Block embedding, ParameterStore ps, boolean training, PairList<String, Object> params, NDArray ids) {
        Object given = params == null ? null : params.get(INPUTS_EMBEDS);
        if (given == null) {
            return Ops.call(embedding, ps, training, params, ids);
        }
        NDArray e = (NDArray) given;
        if (e.getShape().dimension() != 3
                || e.getShape().get(0) != ids.getShape().get(0)
                || e.getShape().get(1) != ids.getShape().get(1)) {
            throw new IllegalArgumentException(INPUTS_EMBEDS + " must be [batch, seq, hidden] with the input ids'"
                    + " batch and seq " + ids.getShape() + "; got " + e.getShape());
        }
        return e;
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
        NDArray h = hidden(ps, module(body), x, training, params);
        return new NDList(Ops.call(module("lm_head"), ps, training, params, h));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] in) {
        return new Shape[] {in[0].add(config.vocabSize())};
    }

    @Override
    protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
        dataType = t;
        module(body).initialize(m, t, in[0]);
        module("lm_head").initialize(m, t, in[0].add(config.hiddenSize()));
    }
}
