package io.github.peft4j.recipes;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.github.peft4j.train.ParameterNames;
import io.github.peft4j.train.TrainingRecipe;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * LISA, layer-wise importance sampling (Pan et al., 2024): every K steps, γ of the L layers are drawn at random and
 * only they train (with the embeddings and the head, which always train); the other layers are frozen for the period,
 * saving their gradients and optimizer updates. The draw depends only on the seed and the period, so a resumed run
 * draws the same layers.
 */
public final class Lisa implements TrainingRecipe {

    private final int gamma;
    private final long period;
    private final long seed;
    private final Map<String, Integer> layerOfKey = new HashMap<>();
    private int layers;
    private long drawnPeriod = -1;

    /**
     * Creates the recipe.
     *
     * @param gamma the layers that train in a period, ≥ 1
     * @param period K, the steps between draws, ≥ 1
     * @param seed the seed of the draws
     * @throws IllegalArgumentException if γ or K is below 1
     */
    public Lisa(int gamma, long period, long seed) {
        if (gamma < 1 || period < 1) {
            throw new IllegalArgumentException("LISA: γ and the period must be ≥ 1; got " + gamma + ", " + period);
        }
        this.gamma = gamma;
        this.period = period;
        this.seed = seed;
    }

    @Override
    public String describe() {
        return "LISA " + gamma + " layers every " + period + " steps (seed " + seed + ")";
    }

    @Override
    public void prepare(Block model, Map<String, Parameter> trainable, boolean resumed) {
        ParameterNames names = ParameterNames.of(model);
        layers = names.layers();
        if (gamma > layers) {
            throw new IllegalArgumentException("LISA: γ = " + gamma + " but the model has " + layers + " layers");
        }
        layerOfKey.clear();
        trainable.forEach((k, p) -> layerOfKey.put(k, ParameterNames.layerOf(names.name(p))));
        drawnPeriod = -1;
    }

    /** The layers that train in a period of this run (after {@link #prepare}). */
    Set<Integer> draw(long p) {
        return draw(seed, p, layers, gamma);
    }

    /**
     * The layers that train in a period: a function of the seed and the period only.
     *
     * @param seed the run's LISA seed
     * @param p the 0-based period (step / K)
     * @param layers L
     * @param gamma γ
     * @return γ distinct layer indices
     */
    static Set<Integer> draw(long seed, long p, int layers, int gamma) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + p);
        int[] order = new int[layers];
        for (int i = 0; i < layers; i++) {
            order[i] = i;
        }
        for (int i = 0; i < gamma; i++) {
            int j = i + r.nextInt(layers - i);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        Set<Integer> out = new HashSet<>();
        for (int i = 0; i < gamma; i++) {
            out.add(order[i]);
        }
        return out;
    }

    @Override
    public void beforeStep(long step, Map<String, Parameter> trainable) {
        long p = step / period;
        if (p == drawnPeriod) {
            return;
        }
        drawnPeriod = p;
        Set<Integer> active = draw(p);
        trainable.forEach((k, param) -> {
            int l = layerOfKey.getOrDefault(k, -1);
            param.freeze(l >= 0 && !active.contains(l));
        });
    }
}
