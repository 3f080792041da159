package io.github.peft4j.recipes;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.github.peft4j.train.ParameterNames;
import io.github.peft4j.train.TrainingRecipe;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * LoRA+ (Hayou et al., 2024): B trains at λ times the learning rate of A (λ = 16 in the paper's experiments), which
 * the paper shows makes feature learning efficient at large widths. As Python PEFT's {@code create_loraplus_optimizer}
 * groups them: every {@code lora_B} at lr · λ, the rest at lr.
 */
public final class LoraPlus implements TrainingRecipe {

    private final double ratio;
    private final Set<String> bKeys = new HashSet<>();

    /**
     * Creates the recipe.
     *
     * @param ratio λ, the learning-rate ratio of B to A (&gt; 0)
     * @throws IllegalArgumentException if the ratio is not positive
     */
    public LoraPlus(double ratio) {
        if (!(ratio > 0) || Double.isInfinite(ratio)) {
            throw new IllegalArgumentException("LoRA+: the learning-rate ratio must be positive; got " + ratio);
        }
        this.ratio = ratio;
    }

    @Override
    public String describe() {
        return "LoRA+ ratio " + ratio;
    }

    @Override
    public void prepare(Block model, Map<String, Parameter> trainable, boolean resumed) {
        ParameterNames names = ParameterNames.of(model);
        bKeys.clear();
        trainable.forEach((k, p) -> {
            if (names.name(p).contains("lora_B")) {
                bKeys.add(k);
            }
        });
        if (bKeys.isEmpty()) {
            throw new IllegalArgumentException("LoRA+ scales the learning rate of LoRA's B, and no trainable lora_B"
                    + " was found: use it with LoRA or DoRA");
        }
    }

    @Override
    public double learningRateScale(String key, long step) {
        return bKeys.contains(key) ? ratio : 1;
    }
}
