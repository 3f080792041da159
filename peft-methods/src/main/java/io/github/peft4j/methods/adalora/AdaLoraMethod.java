package io.github.peft4j.methods.adalora;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.AdapterMethod;
import io.github.peft4j.core.OptimizerAccess;
import io.github.peft4j.core.TargetLayer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The AdaLoRA method, registered through {@code META-INF/services}: the layers, the orthogonality regulariser (its
 * gradient added before each update) and the rank allocator (after each update), as Python PEFT's
 * {@code AdaLoraModel.update_and_allocate} with the step just applied.
 */
public final class AdaLoraMethod implements AdapterMethod<AdaLoraConfig, AdaLoraLayer> {

    /** Creates the method (used by {@link java.util.ServiceLoader}). */
    public AdaLoraMethod() {}

    @Override
    public String peftType() {
        return AdaLoraConfig.PEFT_TYPE;
    }

    @Override
    public Class<AdaLoraConfig> configType() {
        return AdaLoraConfig.class;
    }

    @Override
    public AdaLoraConfig parseConfig(ObjectNode json) {
        return AdaLoraConfig.fromJson(json);
    }

    @Override
    public AdaLoraLayer createAdapter(TargetLayer layer, AdaLoraConfig config, AdapterContext context) {
        return new AdaLoraLayer(layer, config, context);
    }

    /** The config with the rank pattern of the current masks (all of Python's {@code rank_pattern}). */
    @Override
    public ObjectNode exportConfig(AdaLoraConfig config, Map<String, AdaLoraLayer> layers) {
        Map<String, boolean[]> pattern = new LinkedHashMap<>(config.rankPattern());
        for (AdaLoraLayer l : layers.values()) {
            boolean[] k = l.exportMask();
            if (k != null) {
                pattern.put(l.path(), k);
            }
        }
        return config.withRankPattern(pattern).toJson();
    }

    @Override
    public void beforeStep(AdaLoraConfig config, Map<String, AdaLoraLayer> layers, long step) {
        if (layers.isEmpty()) {
            return;
        }
        if (config.orthRegWeight() != 0) {
            // Python: loss += w · mean over every A and B of ‖PPᵀ − I‖_F
            double c = config.orthRegWeight() / (2.0 * layers.size());
            layers.values().forEach(l -> l.addOrthogonalityGradient(c));
        }
        if (step < config.totalStep() - config.tfinal()) {
            // the allocator reads this step's gradients after the update, which some loops reset
            layers.values().stream().filter(AdaLoraLayer::allocates).forEach(AdaLoraLayer::keepGradients);
        }
    }

    @Override
    public void afterStep(
            AdaLoraConfig config, Map<String, AdaLoraLayer> layers, long step, OptimizerAccess optimizer) {
        List<AdaLoraLayer> live = new ArrayList<>();
        for (AdaLoraLayer l : layers.values()) {
            if (l.allocates()) {
                live.add(l);
            }
        }
        if (live.isEmpty()) {
            return;
        }
        long last = config.totalStep() - config.tfinal();
        if (step < last) {
            live.forEach(l -> l.updateImportance(config.beta1(), config.beta2()));
            Budget b = budget(config, step, live.size());
            if (b.mask()) {
                maskToBudget(live, config.initR() * live.size(), b.budget());
            }
        } else if (step == last) {
            maskToBudget(
                    live,
                    config.initR() * live.size(),
                    budget(config, step, live.size()).budget());
            live.forEach(AdaLoraLayer::resetImportance);
        } else {
            for (AdaLoraLayer l : live) {
                boolean[] k = l.keep();
                if (k != null) {
                    l.applyMask(k);
                }
            }
        }
    }

    /** A budget of triplets and whether to re-allocate at a step. */
    record Budget(int budget, boolean mask) {}

    /** Python's {@code RankAllocator.budget_schedule}: warm-up, a cubic decrease, then the target. */
    static Budget budget(AdaLoraConfig c, long step, int layers) {
        int init = c.initR() * layers;
        int target = c.targetR() * layers;
        if (step <= c.tinit()) {
            return new Budget(init, false);
        }
        if (step > c.totalStep() - c.tfinal()) {
            return new Budget(target, true);
        }
        double mul = 1 - (double) (step - c.tinit()) / (c.totalStep() - c.tfinal() - c.tinit());
        int budget = (int) ((init - target) * (mul * mul * mul) + target);
        return new Budget(budget, step % c.deltaT() == 0);
    }

    /** Keeps the {@code budget} most important triplets across the layers (ties at the threshold are pruned). */
    static void maskToBudget(List<AdaLoraLayer> layers, int total, int budget) {
        List<float[]> scores = new ArrayList<>();
        int n = 0;
        for (AdaLoraLayer l : layers) {
            float[] s = l.tripletScores();
            scores.add(s);
            n += s.length;
        }
        int k = total - budget;
        float threshold = Float.NEGATIVE_INFINITY;
        if (k > 0) {
            float[] all = new float[n];
            int at = 0;
            for (float[] s : scores) {
                System.arraycopy(s, 0, all, at, s.length);
                at += s.length;
            }
            Arrays.sort(all);
            threshold = all[Math.min(k, n) - 1];
        }
        for (int i = 0; i < layers.size(); i++) {
            float[] s = scores.get(i);
            boolean[] keep = new boolean[s.length];
            for (int j = 0; j < s.length; j++) {
                keep[j] = !(s[j] <= threshold);
            }
            layers.get(i).applyMask(keep);
        }
    }
}
