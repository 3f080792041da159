package io.github.peft4j.examples.cli.method;

import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.methods.adalora.AdaLoraConfig;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Option;

/** The options of {@code --method adalora}, and the method built from them (with {@code --rank}, {@code --alpha}). */
public final class AdaLoraOptions {

    @Option(
            names = "--init-r",
            defaultValue = "12",
            description = "adalora: the starting rank (default: ${DEFAULT-VALUE})")
    int initR;

    @Option(
            names = "--tinit",
            defaultValue = "0",
            description = "adalora: steps before pruning starts (default: ${DEFAULT-VALUE})")
    int tinit;

    @Option(
            names = "--tfinal",
            defaultValue = "0",
            description = "adalora: last steps at the final rank pattern (default: ${DEFAULT-VALUE})")
    int tfinal;

    @Option(
            names = "--delta-t",
            defaultValue = "1",
            description = "adalora: steps between re-allocations (default: ${DEFAULT-VALUE})")
    int deltaT;

    @Option(
            names = "--orth-reg-weight",
            defaultValue = "0.5",
            description = "adalora: weight of the orthogonality regulariser (default: ${DEFAULT-VALUE})")
    double orthRegWeight;

    /**
     * Returns {@code --method adalora}: {@code --rank} is the average final rank (target_r), {@code --init-r} the
     * starting one; the schedule spans the run's planned steps.
     *
     * @param lora the LoRA options, for {@code --rank} and {@code --alpha}
     * @return the method
     */
    public TrainMethod method(LoraOptions lora) {
        return new TrainMethod() {
            @Override
            public String name() {
                return "adalora";
            }

            @Override
            public Set<String> options() {
                return Set.of("--rank", "--alpha", "--init-r", "--tinit", "--tfinal", "--delta-t", "--orth-reg-weight");
            }

            @Override
            public List<String> defaultTargets() {
                return List.of("query", "value");
            }

            @Override
            public void validate() {
                if (lora.targetRank() > initR) {
                    throw new IllegalArgumentException("--rank (adalora's target rank) must be ≤ --init-r " + initR
                            + "; got " + lora.targetRank());
                }
            }

            @Override
            public AdapterConfig config(Run run) {
                return new AdaLoraConfig(
                        run.targets(),
                        initR,
                        lora.targetRank(),
                        tinit,
                        tfinal,
                        deltaT,
                        0.85,
                        0.85,
                        orthRegWeight,
                        run.totalSteps(),
                        lora.alpha,
                        0.0,
                        Map.of(),
                        true);
            }

            @Override
            public boolean trains(AdapterConfig config) {
                return config instanceof AdaLoraConfig;
            }

            @Override
            public String describe(List<String> targets) {
                return "AdaLoRA r " + initR + " → " + lora.targetRank() + ", alpha=" + lora.alpha + ", tinit=" + tinit
                        + ", tfinal=" + tfinal + ", targets=" + targets;
            }
        };
    }
}
