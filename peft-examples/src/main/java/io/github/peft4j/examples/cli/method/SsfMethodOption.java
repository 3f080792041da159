package io.github.peft4j.examples.cli.method;

import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.ssf.SsfConfig;
import java.util.List;
import java.util.Set;

/** {@code --method ssf}: scale and shift after linear layers and LayerNorms, the paper's init. */
public final class SsfMethodOption implements TrainMethod {

    @Override
    public String name() {
        return "ssf";
    }

    @Override
    public Set<String> options() {
        return Set.of();
    }

    @Override
    public List<String> defaultTargets() {
        return List.of("query", "key", "value", "dense", "LayerNorm");
    }

    @Override
    public void validate() {}

    @Override
    public AdapterConfig config(Run run) {
        return SsfConfig.builder().optTargets(run.targets()).build();
    }

    @Override
    public boolean trains(AdapterConfig config) {
        return config instanceof SsfConfig;
    }

    @Override
    public String describe(List<String> targets) {
        return "SSF, targets=" + targets;
    }
}
