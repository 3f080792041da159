package io.github.peft4j.examples.cli.method;

import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.sparse.dsee.DseeConfig;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/** The options of {@code --method dsee}, and the method built from them (with {@code --rank}, {@code --alpha}). */
public final class DseeOptions {

    @Option(
            names = "--sparse-count",
            defaultValue = "64",
            description = "dsee: trained sparse entries per layer (default: ${DEFAULT-VALUE})")
    int sparseCount;

    @Option(
            names = "--decomposition-rank",
            defaultValue = "8",
            description = "dsee: rank of the weight approximation whose residual picks the sparse positions"
                    + " (default: ${DEFAULT-VALUE})")
    int decompositionRank;

    /**
     * Returns {@code --method dsee}.
     *
     * @param lora the LoRA options, for {@code --rank} and {@code --alpha}
     * @param seed the run's seed (the randomized decomposition)
     * @return the method
     */
    public TrainMethod method(LoraOptions lora, long seed) {
        return new TrainMethod() {
            @Override
            public String name() {
                return "dsee";
            }

            @Override
            public Set<String> options() {
                return Set.of("--rank", "--alpha", "--sparse-count", "--decomposition-rank");
            }

            @Override
            public List<String> defaultTargets() {
                return List.of("query", "value");
            }

            @Override
            public void validate() {
                if (sparseCount < 1 || decompositionRank < 1) {
                    throw new IllegalArgumentException("--sparse-count and --decomposition-rank must be ≥ 1");
                }
            }

            @Override
            public AdapterConfig config(Run run) {
                return new DseeConfig(
                        run.targets(), lora.targetRank(), lora.alpha, sparseCount, decompositionRank, seed, true);
            }

            @Override
            public boolean trains(AdapterConfig config) {
                return config instanceof DseeConfig;
            }

            @Override
            public String describe(List<String> targets) {
                return "DSEE r=" + lora.targetRank() + ", alpha=" + lora.alpha + ", " + sparseCount
                        + " sparse entries per layer, targets=" + targets;
            }
        };
    }
}
