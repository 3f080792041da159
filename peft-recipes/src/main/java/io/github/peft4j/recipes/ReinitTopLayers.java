package io.github.peft4j.recipes;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.train.ParameterNames;
import io.github.peft4j.train.TrainingRecipe;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Re-initialises the top k layers and the pooler before training (Zhang et al., 2021, "Revisiting few-sample BERT
 * fine-tuning"): their pre-trained values are specific to the pre-training task and hurt the fine-tuning's stability.
 * Weights are drawn from N(0, std²) (BERT's {@code initializer_range}, 0.02), biases set to 0, normalisation weights
 * to 1. They must train: with a method that freezes them (an adapter) re-initialising would destroy the model, so it
 * is refused. Not repeated on resume (the checkpoint holds the values).
 */
public final class ReinitTopLayers implements TrainingRecipe {

    private final int k;
    private final double std;
    private final long seed;

    /**
     * Creates the recipe.
     *
     * @param k the number of top layers, ≥ 1
     * @param std the standard deviation of the new weights (0.02 for BERT)
     * @param seed the seed of the draw
     * @throws IllegalArgumentException if k is below 1 or std not positive
     */
    public ReinitTopLayers(int k, double std, long seed) {
        if (k < 1 || !(std > 0)) {
            throw new IllegalArgumentException("re-init top layers: k must be ≥ 1 and std > 0; got " + k + ", " + std);
        }
        this.k = k;
        this.std = std;
        this.seed = seed;
    }

    @Override
    public String describe() {
        return "re-init top " + k + " layers (std " + std + ")";
    }

    @Override
    public void prepare(Block model, Map<String, Parameter> trainable, boolean resumed) {
        ParameterNames names = ParameterNames.of(model);
        int layers = names.layers();
        if (k > layers) {
            throw new IllegalArgumentException("re-init top layers: k = " + k + " but the model has " + layers);
        }
        Set<Parameter> trains = Collections.newSetFromMap(new IdentityHashMap<>());
        trains.addAll(trainable.values());
        List<Parameter> chosen = new ArrayList<>();
        List<String> frozen = new ArrayList<>();
        for (Parameter p : allParameters(model)) {
            String n = names.name(p);
            int l = ParameterNames.layerOf(n);
            boolean top = l >= 0 ? l >= layers - k : n.contains("pooler.");
            if (top) {
                chosen.add(p);
                if (!trains.contains(p)) {
                    frozen.add(n);
                }
            }
        }
        if (!frozen.isEmpty()) {
            throw new IllegalArgumentException("re-init top layers: " + frozen.size() + " of their parameters do not"
                    + " train (e.g. " + frozen.get(0) + "); re-initialising frozen weights would destroy them: use it"
                    + " with full fine-tuning");
        }
        if (resumed) {
            return;
        }
        for (Parameter p : chosen) {
            String n = names.name(p);
            NDArray a = p.getArray();
            int size = Math.toIntExact(a.size());
            float[] v = new float[size];
            if (n.endsWith(".bias")) {
                // zeros
            } else if (a.getShape().dimension() == 1) {
                Arrays.fill(v, 1f); // a normalisation's weight
            } else {
                SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ n.hashCode());
                for (int i = 0; i < size; i++) {
                    v[i] = (float) (ParameterValues.gaussian(r) * std);
                }
            }
            try (NDArray src = a.getManager().create(v, a.getShape())) {
                ParameterValues.copyInto(a, src);
            }
        }
    }

    private static Collection<Parameter> allParameters(Block model) {
        List<Parameter> out = new ArrayList<>();
        model.getParameters().forEach(p -> out.add(p.getValue()));
        return out;
    }
}
