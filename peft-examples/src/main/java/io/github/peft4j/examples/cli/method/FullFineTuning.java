package io.github.peft4j.examples.cli.method;

import io.github.peft4j.core.AdapterConfig;
import java.util.List;
import java.util.Set;

/** {@code --method full}: every weight trains; no adapter (the baseline the methods are compared with). */
public final class FullFineTuning implements TrainMethod {

    @Override
    public String name() {
        return "full";
    }

    @Override
    public Set<String> options() {
        return Set.of();
    }

    @Override
    public List<String> defaultTargets() {
        return List.of();
    }

    @Override
    public void validate() {}

    @Override
    public boolean adapts() {
        return false;
    }

    @Override
    public boolean trains(AdapterConfig config) {
        return false;
    }

    /** No adapter: the caller unfreezes the model. */
    @Override
    public AdapterConfig config(Run run) {
        return null;
    }

    @Override
    public String describe(List<String> targets) {
        return "full fine-tuning";
    }
}
