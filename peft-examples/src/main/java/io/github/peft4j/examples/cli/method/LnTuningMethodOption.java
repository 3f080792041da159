package io.github.peft4j.examples.cli.method;

import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.methods.lntuning.LnTuningConfig;
import java.util.List;
import java.util.Set;

/** {@code --method ln}: LayerNorm tuning, a trainable copy of every LayerNorm (Python PEFT's LN_TUNING layout). */
public final class LnTuningMethodOption implements TrainMethod {

    @Override
    public String name() {
        return "ln";
    }

    @Override
    public Set<String> options() {
        return Set.of();
    }

    @Override
    public List<String> defaultTargets() {
        return List.of("LayerNorm");
    }

    @Override
    public void validate() {}

    @Override
    public AdapterConfig config(Run run) {
        return new LnTuningConfig(run.targets());
    }

    @Override
    public boolean trains(AdapterConfig config) {
        return config instanceof LnTuningConfig;
    }

    @Override
    public String describe(List<String> targets) {
        return "LayerNorm tuning, targets=" + targets;
    }
}
