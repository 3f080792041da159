package io.github.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.models.HfModule;

/**
 * Hugging Face {@code BertModel} as a DJL block: post-LN transformer encoder with exact GELU, numerically equal to the
 * PyTorch implementation (checked against ONNX Runtime). Module paths are Hugging Face's:
 * {@code embeddings.word_embeddings}, {@code encoder.layer.N.attention.self.query}, {@code
 * encoder.layer.N.output.dense},
 * {@code pooler.dense}, ...; every linear layer takes activation-path adapters.
 *
 * <p>Inputs: {@code input_ids} [batch, seq] int64, {@code attention_mask} [batch, seq] (1 = token, 0 = padding) and,
 * optionally, {@code token_type_ids} [batch, seq] (zeros when absent). Outputs:
 * <ol start="0">
 *   <li>{@code last_hidden_state} [batch, seq, hidden];
 *   <li>the sentence embedding [batch, hidden]: the mean of last_hidden_state over tokens with mask 1, L2-normalised
 *       (sentence-transformers pooling, peft4j's addition: no Hugging Face class computes it);
 *   <li>{@code pooler_output} [batch, hidden] (tanh(dense(first token))), only when built with a pooler.
 * </ol>
 */
public final class BertModel extends HfModule {

    private final BertConfig config;
    private final boolean withPooler;

    /**
     * Creates an uninitialised encoder.
     *
     * @param config the architecture
     * @param withPooler whether to add {@code pooler} (HF's {@code add_pooling_layer})
     */
    public BertModel(BertConfig config, boolean withPooler) {
        this.config = config;
        this.withPooler = withPooler;
        register("embeddings", new BertLayers.Embeddings(config));
        register("encoder", new BertLayers.Encoder(config));
        if (withPooler) {
            register("pooler", new BertLayers.Pooler(config));
        }
    }

    /**
     * Returns the architecture.
     *
     * @return the config
     */
    public BertConfig getConfig() {
        return config;
    }

    /**
     * Whether the model has a pooler.
     *
     * @return true if {@code pooler} exists
     */
    public boolean hasPooler() {
        return withPooler;
    }

    /**
     * Initialises the parameters for inputs of a shape (weights are loaded over them afterwards).
     *
     * @param manager owns the arrays
     * @param batch batch size of the shape inference
     * @param seq sequence length of the shape inference
     */
    public void initialize(NDManager manager, long batch, long seq) {
        Shape s = new Shape(batch, seq);
        initialize(manager, DataType.FLOAT32, s, s, s);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
        if (in.size() < 2) {
            throw new IllegalArgumentException(
                    "BertModel takes (input_ids, attention_mask[, token_type_ids]); got " + in.size() + " input(s)");
        }
        NDArray ids = in.get(0);
        NDArray mask = in.get(1);
        NDArray types = in.size() > 2 ? in.get(2) : ids.zerosLike();
        NDArray h = module("embeddings")
                .forward(ps, new NDList(ids, types), training)
                .singletonOrThrow();
        // additive mask as in HF: (1 - mask) * finfo.min, broadcast over heads and queries
        NDArray m = mask.toType(h.getDataType(), false);
        NDArray ext = Scalars.mul(Scalars.add(m.neg(), 1), -Float.MAX_VALUE)
                .reshape(m.getShape().get(0), 1, 1, m.getShape().get(1));
        NDArray last =
                module("encoder").forward(ps, new NDList(h, ext), training).get(0);
        NDList out = new NDList(last, meanPool(last, m));
        if (withPooler) {
            out.add(module("pooler").forward(ps, new NDList(last), training).singletonOrThrow());
        }
        return out;
    }

    /**
     * Mean of the hidden states over tokens with mask 1, L2-normalised (sentence-transformers' pooling).
     *
     * @param hidden [batch, seq, hidden]
     * @param mask [batch, seq] of 0/1 in the hidden states' type
     * @return [batch, hidden]
     */
    public static NDArray meanPool(NDArray hidden, NDArray mask) {
        NDArray m = mask.expandDims(-1);
        NDArray sum = hidden.mul(m).sum(new int[] {1});
        NDArray count = m.sum(new int[] {1}).clip(1e-9, Float.MAX_VALUE);
        NDArray mean = sum.div(count);
        NDArray norm = mean.norm(new int[] {-1}, true).clip(1e-12, Float.MAX_VALUE);
        return mean.div(norm);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] in) {
        Shape h = in[0].add(config.hiddenSize());
        Shape pooled = new Shape(in[0].get(0), config.hiddenSize());
        return withPooler ? new Shape[] {h, pooled, pooled} : new Shape[] {h, pooled};
    }

    @Override
    protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
        module("embeddings").initialize(m, t, in[0], in[0]);
        Shape h = in[0].add(config.hiddenSize());
        module("encoder").initialize(m, t, h, new Shape(in[0].get(0), 1, 1, in[0].get(1)));
        if (withPooler) {
            module("pooler").initialize(m, t, h);
        }
    }
}
