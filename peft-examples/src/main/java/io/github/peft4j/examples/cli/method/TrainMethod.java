package io.github.peft4j.examples.cli.method;

import ai.djl.training.loss.Loss;
import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.Targets;
import io.github.peft4j.train.TrainingData;
import java.util.List;
import java.util.Set;

/**
 * What {@code peft train --method NAME} needs from a method: the options it owns (and validates), its default
 * targets, and the adapter config it builds from them. One small class per method; the command holds no method logic.
 */
public interface TrainMethod {

    /**
     * Returns the {@code --method} value.
     *
     * @return e.g. {@code lora}
     */
    String name();

    /**
     * Returns the long names of the options only this method reads (they are an error with another method).
     *
     * @return e.g. {@code --rank}
     */
    Set<String> options();

    /**
     * Returns the targets used when {@code --targets} is not given.
     *
     * @return module names or {@code all-linear}
     */
    List<String> defaultTargets();

    /**
     * Checks the method's own options; called before anything is loaded.
     *
     * @throws IllegalArgumentException naming the option and the accepted values
     */
    void validate();

    /**
     * Builds the adapter config.
     *
     * @param run what the command knows: targets, base model name, planned steps
     * @return the config, or null for full fine-tuning (no adapter)
     */
    AdapterConfig config(Run run);

    /**
     * Whether the method trains an adapter (false for full fine-tuning).
     *
     * @return true by default
     */
    default boolean adapts() {
        return true;
    }

    /**
     * Whether an adapter config (a checkpoint's, when resuming) is one this method trains.
     *
     * @param config the config
     * @return true if {@code --method} fits it
     */
    boolean trains(AdapterConfig config);

    /**
     * Initialises a freshly built adapter (e.g. PiSSA); nothing by default.
     *
     * @param model the model holding the adapter {@code default}
     * @param train the training data
     * @param loss the training loss (LoRA-GA approximates its gradient)
     * @param seed the run's seed
     */
    default void initialise(PeftModel model, TrainingData train, Loss loss, long seed) {}

    /**
     * Describes the method's settings for the report.
     *
     * @param targets the targets in effect
     * @return one line
     */
    String describe(List<String> targets);

    /**
     * What the command passes to {@link #config}.
     *
     * @param targets the modules to adapt, the modules trained fully and saved whole (the classifier head), the task
     *     type and the base model's name or path, as every config records them
     * @param totalSteps the optimizer steps the run plans
     */
    record Run(Targets targets, long totalSteps) {}
}
