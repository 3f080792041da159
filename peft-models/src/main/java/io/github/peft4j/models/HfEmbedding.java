package io.github.peft4j.models;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/** {@code nn.Embedding}: a [num, dim] table named {@code weight}, looked up by int64 ids. */
public final class HfEmbedding extends AbstractBlock {

    private final long num;
    private final long dim;
    private final Parameter weight;

    /**
     * Creates the table.
     *
     * @param num number of rows
     * @param dim row width
     */
    public HfEmbedding(long num, long dim) {
        this.num = num;
        this.dim = dim;
        weight = addParameter(Parameter.builder()
                .setName("weight")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(num, dim))
                .optInitializer(new NormalInitializer(0.02f))
                .build());
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        var ids = inputs.singletonOrThrow();
        return Embedding.embedding(ids, ps.getValue(weight, ids.getDevice(), training), SparseFormat.DENSE);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(dim)};
    }

    @Override
    public String toString() {
        return "Embedding(" + num + ", " + dim + ")";
    }
}
