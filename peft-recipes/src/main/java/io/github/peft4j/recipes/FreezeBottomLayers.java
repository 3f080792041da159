package io.github.peft4j.recipes;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.github.peft4j.train.ParameterNames;
import io.github.peft4j.train.TrainingRecipe;
import java.util.Map;

/**
 * Freezes the embeddings and the bottom k layers for the whole run (Lee et al., 2019; Zhang et al., 2021): what they
 * hold is general, and not training them saves their gradients and optimizer state. Adapters in those layers freeze
 * too.
 */
public final class FreezeBottomLayers implements TrainingRecipe {

    private final int k;

    /**
     * Creates the recipe.
     *
     * @param k the number of bottom layers to freeze, ≥ 1
     * @throws IllegalArgumentException if k is below 1
     */
    public FreezeBottomLayers(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("freeze bottom layers: k must be ≥ 1; got " + k);
        }
        this.k = k;
    }

    @Override
    public String describe() {
        return "freeze embeddings and bottom " + k + " layers";
    }

    @Override
    public void prepare(Block model, Map<String, Parameter> trainable, boolean resumed) {
        ParameterNames names = ParameterNames.of(model);
        if (k >= names.layers()) {
            throw new IllegalArgumentException("freeze bottom layers: k = " + k + " would freeze all " + names.layers()
                    + " layers; choose k < " + names.layers());
        }
        for (Parameter p : trainable.values()) {
            String n = names.name(p);
            int l = ParameterNames.layerOf(n);
            if ((l >= 0 && l < k) || ParameterNames.isEmbedding(n)) {
                p.freeze(true);
            }
        }
    }
}
