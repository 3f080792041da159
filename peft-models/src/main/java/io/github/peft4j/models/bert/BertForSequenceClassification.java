package io.github.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.models.HfModule;

/**
 * Hugging Face {@code BertForSequenceClassification}: {@code bert} (encoder + pooler) → dropout → {@code classifier}
 * (hidden → num_labels). Module paths carry the {@code bert.} prefix, as in Python, so adapters trained on this class
 * in either language load in the other. Train the head through {@code modules_to_save: ["classifier", "pooler"]}.
 *
 * <p>Inputs as {@link BertModel}; output: logits [batch, num_labels].
 */
public final class BertForSequenceClassification extends HfModule {

    private final BertConfig config;

    /**
     * Creates an uninitialised model.
     *
     * @param config the architecture; {@code numLabels} sizes the classifier
     */
    public BertForSequenceClassification(BertConfig config) {
        this.config = config;
        register("bert", new BertModel(config, true));
        register("classifier", BertLayers.linear(config.numLabels()));
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
     * Returns the encoder.
     *
     * @return {@code bert}
     */
    public BertModel getBert() {
        return (BertModel) module("bert");
    }

    /**
     * Initialises the parameters for inputs of a shape.
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
        NDArray pooled = module("bert").forward(ps, in, training).get(2);
        double rate = config.classifierDropout() != null ? config.classifierDropout() : config.hiddenDropoutProb();
        return module("classifier").forward(ps, new NDList(BertLayers.dropout(pooled, rate, training)), training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] in) {
        return new Shape[] {new Shape(in[0].get(0), config.numLabels())};
    }

    @Override
    protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
        module("bert").initialize(m, t, in);
        module("classifier").initialize(m, t, new Shape(in[0].get(0), config.hiddenSize()));
    }
}
