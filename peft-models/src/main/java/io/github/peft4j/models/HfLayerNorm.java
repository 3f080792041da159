package io.github.peft4j.models;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import io.github.peft4j.core.nn.AffineNorm;

/** {@code nn.LayerNorm} over the last dimension, with PyTorch's parameter names {@code weight} and {@code bias}. */
public final class HfLayerNorm extends AbstractBlock implements AffineNorm {

    private final long dim;
    private final float eps;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * Creates the layer.
     *
     * @param dim the normalised width
     * @param eps the epsilon ({@code layer_norm_eps})
     */
    public HfLayerNorm(long dim, float eps) {
        this.dim = dim;
        this.eps = eps;
        weight = addParameter(Parameter.builder()
                .setName("weight")
                .setType(Parameter.Type.GAMMA)
                .optShape(new Shape(dim))
                .optInitializer(Initializer.ONES)
                .build());
        bias = addParameter(Parameter.builder()
                .setName("bias")
                .setType(Parameter.Type.BETA)
                .optShape(new Shape(dim))
                .optInitializer(Initializer.ZEROS)
                .build());
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        var x = inputs.singletonOrThrow();
        return LayerNorm.layerNorm(
                x,
                new Shape(dim),
                ps.getValue(weight, x.getDevice(), training),
                ps.getValue(bias, x.getDevice(), training),
                eps);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    public String toString() {
        return "LayerNorm(" + dim + ", eps=" + eps + ")";
    }
}
