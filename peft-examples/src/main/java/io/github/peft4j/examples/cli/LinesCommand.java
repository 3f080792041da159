package io.github.peft4j.examples.cli;

import io.github.peft4j.examples.Classifier;
import io.github.peft4j.merge.Lines;
import io.github.peft4j.merge.LoraAdapter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code peft lines}: a LoRA adapter's update scaled by layer depth (LiNeS), written as a new adapter. */
@Command(
        name = "lines",
        mixinStandardHelpOptions = true,
        description = "LiNeS: scale a LoRA adapter's update by layer depth, lambda(l) = alpha + beta * l / (L - 1), so"
                + " shallow layers stay near the base; layers outside the numbered blocks get alpha. Modules saved"
                + " whole (a head) are kept as they are.")
public final class LinesCommand implements Callable<Integer> {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--adapter", required = true, description = "the LoRA adapter directory (a combination's too)")
    private Path adapter;

    @Option(names = "--alpha", defaultValue = "0", description = "the first layer's factor (default: ${DEFAULT-VALUE})")
    private double alpha;

    @Option(names = "--beta", defaultValue = "1", description = "first to last layer increase (default: 1)")
    private double beta;

    @Option(
            names = "--num-layers",
            description = "the base model's number of layers (default: the largest layer index in the adapter + 1)")
    private Integer numLayers;

    @Option(names = "--output", required = true, description = "the adapter directory to write")
    private Path output;

    @Override
    public Integer call() throws Exception {
        LoraAdapter a = LoraAdapter.read(adapter);
        int layers =
                numLayers != null ? numLayers : Lines.countLayers(a.layers().keySet());
        if (layers == 0) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "no layer index in the adapter's module paths: give --num-layers");
        }
        Lines lines;
        try {
            lines = new Lines(alpha, beta, layers);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        LoraAdapter scaled = lines.apply(a);
        scaled.save(
                output,
                "# LiNeS-scaled LoRA adapter\n\nFrom `" + adapter.getFileName() + "`: each layer's update multiplied"
                        + " by " + alpha + " + " + beta + " * l / " + Math.max(1, layers - 1) + " (" + layers
                        + " layers); layers outside the blocks by " + alpha + ".\n");
        Classifier.copyLabels(adapter, output);
        System.out.printf(
                "LiNeS over %d layers (factors %.3g to %.3g) on %d LoRA layers: written to %s%n",
                layers, alpha, alpha + beta, a.layers().size(), output.toAbsolutePath());
        return 0;
    }
}
