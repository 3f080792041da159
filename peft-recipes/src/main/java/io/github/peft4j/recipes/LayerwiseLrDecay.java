package io.github.peft4j.recipes;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.github.peft4j.train.ParameterNames;
import io.github.peft4j.train.TrainingRecipe;
import java.util.HashMap;
import java.util.Map;

/**
 * Layer-wise learning-rate decay (Clark et al., 2020, ELECTRA; Zhang et al., 2021): layer l of L trains at
 * lr · decay^(L − 1 − l), the embeddings at lr · decay^L, the head and everything outside the layers at lr. The top
 * layers move most, the lower layers (general features) least.
 */
public final class LayerwiseLrDecay implements TrainingRecipe {

    private final double decay;
    private final Map<String, Double> scales = new HashMap<>();

    /**
     * Creates the recipe.
     *
     * @param decay the factor per layer, in (0, 1]
     * @throws IllegalArgumentException if the factor is out of range
     */
    public LayerwiseLrDecay(double decay) {
        if (!(decay > 0 && decay <= 1)) {
            throw new IllegalArgumentException("layer-wise lr decay must be in (0, 1]; got " + decay);
        }
        this.decay = decay;
    }

    @Override
    public String describe() {
        return "layer-wise lr decay " + decay;
    }

    @Override
    public void prepare(Block model, Map<String, Parameter> trainable, boolean resumed) {
        ParameterNames names = ParameterNames.of(model);
        int layers = names.layers();
        if (layers == 0) {
            throw new IllegalArgumentException("layer-wise lr decay: the model has no numbered layers"
                    + " (layer.N, layers.N, h.N) to decay over");
        }
        scales.clear();
        trainable.forEach((key, p) -> {
            String n = names.name(p);
            int l = ParameterNames.layerOf(n);
            double s = l >= 0
                    ? Math.pow(decay, layers - 1 - l)
                    : ParameterNames.isEmbedding(n) ? Math.pow(decay, layers) : 1;
            scales.put(key, s);
        });
    }

    @Override
    public double learningRateScale(String key, long step) {
        return scales.getOrDefault(key, 1.0);
    }
}
