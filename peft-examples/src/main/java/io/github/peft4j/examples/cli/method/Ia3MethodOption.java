package io.github.peft4j.examples.cli.method;

import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.Targets;
import io.github.peft4j.methods.ia3.Ia3Config;
import java.util.List;
import java.util.Set;

/**
 * {@code --method ia3}: learned scales of activations, with Python PEFT's defaults for BERT (key, value and the
 * feed-forward output.dense, whose input is scaled); {@code --feedforward-modules} names the input-scaled targets.
 */
public final class Ia3MethodOption implements TrainMethod {

    private final List<String> feedforward;
    private final boolean targetsGiven;

    /**
     * Creates the option.
     *
     * @param feedforward {@code --feedforward-modules}, or null
     * @param targetsGiven whether {@code --targets} was given (then no feed-forward module is assumed)
     */
    public Ia3MethodOption(List<String> feedforward, boolean targetsGiven) {
        this.feedforward = feedforward;
        this.targetsGiven = targetsGiven;
    }

    @Override
    public String name() {
        return "ia3";
    }

    @Override
    public Set<String> options() {
        return Set.of("--feedforward-modules");
    }

    @Override
    public List<String> defaultTargets() {
        return List.of("key", "value", "output.dense");
    }

    @Override
    public void validate() {}

    @Override
    public AdapterConfig config(Run run) {
        List<String> ff = feedforward != null ? feedforward : targetsGiven ? List.of() : List.of("output.dense");
        Targets t = run.targets();
        return new Ia3Config(t, ff.isEmpty() ? ModuleSelector.none() : ModuleSelector.names(ff), true);
    }

    @Override
    public boolean trains(AdapterConfig config) {
        return config instanceof Ia3Config;
    }

    @Override
    public String describe(List<String> targets) {
        List<String> ff = feedforward != null ? feedforward : targetsGiven ? List.of() : List.of("output.dense");
        return "IA3, targets=" + targets + ", feedforward_modules=" + ff;
    }
}
