package io.github.peft4j.train;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import java.util.Map;

/**
 * A training recipe: a change to how {@link FineTuner} trains that is not a fine-tuning method — which parameters
 * train when (layer freezing, LISA's layer sampling, linear probing first), at which learning rate (layer-wise decay,
 * LoRA+), how their gradients are adjusted (LoRA-Pro) or how they start (re-initialising the top layers). Recipes
 * combine: learning-rate scales multiply, and each recipe sees the others' freezing.
 *
 * <p>A recipe must be deterministic in the step and the seed so that a run resumed from a checkpoint continues exactly;
 * the checkpoint records {@link #describe()} of every recipe and refuses to resume with others.
 */
public interface TrainingRecipe {

    /**
     * Names the recipe and its settings, e.g. {@code layer-wise lr decay 0.9}; recorded in checkpoints.
     *
     * @return one line
     */
    String describe();

    /**
     * Called once before training, before the trainable parameters are collected: freezing and re-initialisation go
     * here.
     *
     * @param model the model being trained
     * @param trainable the parameters that require gradients now, by key
     * @param resumed whether a checkpoint's values will replace the trainable parameters' values afterwards
     * @throws IllegalArgumentException if the recipe does not apply to this model
     */
    default void prepare(Block model, Map<String, Parameter> trainable, boolean resumed) {}

    /**
     * Called before each optimizer step's forward passes: a recipe that trains a changing subset freezes and unfreezes
     * parameters here ({@link Parameter#freeze}); only the trainable parameters that require gradients then take part
     * in the step.
     *
     * @param step the 0-based step about to run
     * @param trainable every trainable parameter of the run, by key
     */
    default void beforeStep(long step, Map<String, Parameter> trainable) {}

    /**
     * Adjusts the accumulated gradients in place, after the method's own hooks and before clipping.
     *
     * @param step the 0-based step
     * @param active the parameters taking part in this step, by key
     */
    default void adjustGradients(long step, Map<String, Parameter> active) {}

    /**
     * The factor on the learning rate (and so on the weight decay, as PyTorch's parameter groups) of a parameter.
     *
     * @param key the parameter's key
     * @param step the 0-based step
     * @return the factor, 1 by default
     */
    default double learningRateScale(String key, long step) {
        return 1;
    }
}
