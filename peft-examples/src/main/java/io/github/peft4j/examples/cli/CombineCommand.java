package io.github.peft4j.examples.cli;

import io.github.peft4j.examples.Classifier;
import io.github.peft4j.merge.CombinationType;
import io.github.peft4j.merge.LoraAdapter;
import io.github.peft4j.merge.MajoritySign;
import io.github.peft4j.merge.WeightedCombination;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code peft combine}: several LoRA adapters into one, as Python PEFT's {@code add_weighted_adapter}. */
@Command(
        name = "combine",
        mixinStandardHelpOptions = true,
        description = "Combine LoRA adapters into a new one with Python PEFT's add_weighted_adapter types (linear, cat,"
                + " svd, ties, ties_svd, dare_linear, dare_ties, dare_linear_svd, dare_ties_svd, magnitude_prune,"
                + " magnitude_prune_svd); reads and writes the Hugging Face layout, no base model needed.")
public final class CombineCommand implements Callable<Integer> {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(
            names = {"--adapter", "--adapters"},
            required = true,
            split = ",",
            description = "adapter directories: repeat --adapter, or --adapters A,B")
    private List<Path> adapters;

    @Option(
            names = "--weights",
            split = ",",
            description = "one weight per adapter, in order; negative subtracts (default: 1 each)")
    private List<Double> weights;

    @Option(
            names = {"--type", "--combination"},
            defaultValue = "svd",
            description = "the combination type (default: ${DEFAULT-VALUE})")
    private String type;

    @Option(names = "--density", description = "ties, dare and magnitude_prune types: the fraction of values kept")
    private Double density;

    @Option(
            names = "--majority-sign",
            defaultValue = "total",
            description = "ties types: total or frequency (default: ${DEFAULT-VALUE})")
    private String majoritySign;

    @Option(names = "--svd-rank", description = "svd types: the new rank (default: the largest input rank)")
    private Integer svdRank;

    @Option(names = "--svd-clamp", description = "svd types: clamp the factors at this quantile of their entries")
    private Double svdClamp;

    @Option(names = "--seed", defaultValue = "42", description = "dare types: seed of the masks (default: 42)")
    private long seed;

    @Option(
            names = "--modules-to-save-from",
            description = "when several adapters save modules whole (a classifier head): the 1-based position of the"
                    + " --adapter whose modules the result keeps")
    private Integer modulesToSaveFrom;

    @Option(names = "--output", required = true, description = "the adapter directory to write")
    private Path output;

    @Override
    public Integer call() throws Exception {
        if (weights != null && weights.size() != adapters.size()) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--weights has " + weights.size() + " values for " + adapters.size() + " --adapter directories");
        }
        if (modulesToSaveFrom != null && (modulesToSaveFrom < 1 || modulesToSaveFrom > adapters.size())) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--modules-to-save-from must be between 1 and " + adapters.size() + "; got " + modulesToSaveFrom);
        }
        WeightedCombination.Builder b = WeightedCombination.builder();
        try {
            b.setType(CombinationType.parse(type)).optMajoritySign(MajoritySign.parse(majoritySign));
            if (density != null) {
                b.optDensity(density);
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        for (int i = 0; i < adapters.size(); i++) {
            b.addAdapter(name(i), LoraAdapter.read(adapters.get(i)), weights == null ? 1 : weights.get(i));
        }
        if (svdRank != null) {
            b.optSvdRank(svdRank);
        }
        if (svdClamp != null) {
            b.optSvdClamp(svdClamp);
        }
        if (modulesToSaveFrom != null) {
            b.optModulesToSaveFrom(name(modulesToSaveFrom - 1));
        }
        WeightedCombination combination = b.optSeed(seed).build();
        LoraAdapter combined = combination.combine();
        combined.save(output, "# Combined LoRA adapter\n\n" + combination.describe());
        Classifier.copyLabels(adapters.get(modulesToSaveFrom == null ? 0 : modulesToSaveFrom - 1), output);
        System.out.printf(
                "%s of %d adapters, rank %d, %d layers: written to %s%n",
                type,
                adapters.size(),
                combined.config().path("r").asInt(),
                combined.layers().size(),
                output.toAbsolutePath());
        return 0;
    }

    private String name(int i) {
        return (i + 1) + ":" + adapters.get(i);
    }
}
