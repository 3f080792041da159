package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.nn.AffineNorm;

/** Llama's {@code RMSNorm} over the last dimension: {@code weight ⊙ x / √(mean(x²) + eps)}. */
public final class RmsNorm extends AbstractBlock implements AffineNorm {

    private final long dim;
    private final double eps;
    private final Parameter weight;

    /**
     * Creates the layer.
     *
     * @param dim the normalised width
     * @param eps the epsilon ({@code rms_norm_eps})
     */
    public RmsNorm(long dim, double eps) {
        this.dim = dim;
        this.eps = eps;
        weight = addParameter(Parameter.builder()
                .setName("weight")
                .setType(Parameter.Type.GAMMA)
                .optShape(new Shape(dim))
                .optInitializer(Initializer.ONES)
                .build());
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray variance = x.square().mean(new int[] {-1}, true);
        NDArray normed = x.div(Scalars.add(variance, eps).sqrt());
        return new NDList(normed.mul(ps.getValue(weight, x.getDevice(), training)));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    public String toString() {
        return "RMSNorm(" + dim + ", eps=" + eps + ")";
    }
}
