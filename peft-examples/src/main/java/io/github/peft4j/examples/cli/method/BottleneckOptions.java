package io.github.peft4j.examples.cli.method;

import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.methods.bottleneck.BottleneckConfig;
import io.github.peft4j.methods.bottleneck.NonLinearity;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine.Option;

/** The options of {@code --method adapter} (bottleneck adapters), and the method built from them. */
public final class BottleneckOptions {

    @Option(
            names = "--placement",
            defaultValue = "houlsby",
            description = "adapter: houlsby (after the attention output and the feed-forward output of every layer) or"
                    + " pfeiffer (after the feed-forward output only) (default: ${DEFAULT-VALUE})")
    String placement;

    @Option(
            names = "--reduction-factor",
            defaultValue = "16",
            description = "adapter: the bottleneck is the layer width divided by this (default: ${DEFAULT-VALUE})")
    double reductionFactor;

    @Option(
            names = "--non-linearity",
            defaultValue = "relu",
            description = "adapter: relu, gelu, swish or tanh (default: ${DEFAULT-VALUE})")
    String nonLinearity;

    /**
     * Returns {@code --method adapter}.
     *
     * @return the method
     */
    public TrainMethod method() {
        return new TrainMethod() {
            @Override
            public String name() {
                return "adapter";
            }

            @Override
            public Set<String> options() {
                return Set.of("--placement", "--reduction-factor", "--non-linearity");
            }

            /** Houlsby: BERT's attention.output.dense and output.dense; Pfeiffer: the feed-forward output only. */
            @Override
            public List<String> defaultTargets() {
                return pfeiffer() ? List.of("re:.*\\.layer\\.\\d+\\.output\\.dense") : List.of("output.dense");
            }

            @Override
            public void validate() {
                pfeiffer();
                NonLinearity.parse(nonLinearity);
                if (!(reductionFactor > 0)) {
                    throw new IllegalArgumentException("--reduction-factor must be positive; got " + reductionFactor);
                }
            }

            @Override
            public AdapterConfig config(Run run) {
                return new BottleneckConfig(
                        run.targets(), reductionFactor, NonLinearity.parse(nonLinearity), 1.0, true);
            }

            @Override
            public boolean trains(AdapterConfig config) {
                return config instanceof BottleneckConfig;
            }

            @Override
            public String describe(List<String> targets) {
                return "bottleneck adapters (" + placement + ", reduction " + reductionFactor + ", " + nonLinearity
                        + "), targets=" + targets;
            }
        };
    }

    private boolean pfeiffer() {
        return switch (placement.toLowerCase(Locale.ROOT)) {
            case "houlsby" -> false;
            case "pfeiffer" -> true;
            default ->
                throw new IllegalArgumentException("--placement must be houlsby or pfeiffer; got '" + placement + "'");
        };
    }
}
