package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.nn.OutputLayer;

/**
 * The output layer of a model with {@code tie_word_embeddings}: logits = hidden · Eᵀ with E the input embedding's
 * weight, read through the parameter store (so an adapter or a saved copy of the embedding applies to both ends, as
 * in PyTorch where the two modules share one tensor). It owns no parameter.
 */
public final class TiedLmHead extends AbstractBlock implements OutputLayer {

    private final Parameter embedding;
    private final long vocab;

    /**
     * Creates the head.
     *
     * @param embedding the embedding block whose {@code weight} [vocab, hidden] the head reads
     */
    public TiedLmHead(Block embedding) {
        this.embedding = embedding.getDirectParameters().get("weight");
        this.vocab = this.embedding.getShape() == null
                ? -1
                : this.embedding.getShape().get(0);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        return Linear.linear(x, ps.getValue(embedding, x.getDevice(), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {
            inputShapes[0].slice(0, inputShapes[0].dimension() - 1).add(vocab)
        };
    }

    @Override
    public String toString() {
        return "TiedLmHead(" + vocab + ")";
    }
}
