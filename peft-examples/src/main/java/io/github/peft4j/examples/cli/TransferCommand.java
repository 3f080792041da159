package io.github.peft4j.examples.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.merge.Lines;
import io.github.peft4j.merge.TaskVector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code peft transfer}: a full fine-tune's update (fine-tuned − base) applied to a base, scaled, LiNeS optional. */
@Command(
        name = "transfer",
        mixinStandardHelpOptions = true,
        description = "Task arithmetic on full weights: compute the update of a full fine-tune (fine-tuned minus the"
                + " base it was trained from, or read a saved one), scale it (optionally by layer depth, LiNeS) and"
                + " add it to a base of the same architecture (fine-tuning transfer to a newer base).")
public final class TransferCommand implements Callable<Integer> {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--base", description = "the model the fine-tune started from: minilm, a directory or a hub id")
    private String base;

    @Option(names = "--fine-tuned", description = "the fully fine-tuned model directory (peft train --method full)")
    private Path fineTuned;

    @Option(names = "--vector", description = "a saved update (--save-vector) in place of --base and --fine-tuned")
    private Path vector;

    @Option(names = "--onto", description = "the base to add the update to (default: --base)")
    private String onto;

    @Option(names = "--scale", defaultValue = "1", description = "the factor of the update (default: ${DEFAULT-VALUE})")
    private double scale;

    @Option(names = "--lines", description = "scale the update by layer depth (LiNeS) before --scale")
    private boolean lines;

    @Option(
            names = "--lines-alpha",
            defaultValue = "0",
            description = "LiNeS: the factor of the first layer and of everything outside the layers (default: 0)")
    private double alpha;

    @Option(
            names = "--lines-beta",
            defaultValue = "1",
            description = "LiNeS: the increase from the first layer to the last (default: 1)")
    private double beta;

    @Option(
            names = "--num-layers",
            description = "LiNeS: the model's number of layers (default: config.json's num_hidden_layers or n_layer)")
    private Integer numLayers;

    @Option(names = "--save-vector", description = "also write the (unscaled) update to this directory")
    private Path saveVector;

    @Option(names = "--output", description = "the model directory to write (needs --onto or --base)")
    private Path output;

    @Override
    public Integer call() throws Exception {
        if (vector == null && (base == null || fineTuned == null)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "give --base and --fine-tuned (the update is their difference), or --vector");
        }
        if (vector != null && fineTuned != null) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "give either --vector or --fine-tuned with --base, not both");
        }
        if (output != null && onto == null && base == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--output needs --onto (the base to add to)");
        }
        if (output == null && saveVector == null) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "nothing to write: give --output, --save-vector or both");
        }
        TaskVector v = vector != null
                ? TaskVector.read(vector)
                : TaskVector.between(ModelOptions.modelDir(base, "main", "--base"), fineTuned);
        System.out.printf(
                "update of %d tensors (norm %.4g), %d tensors new in the fine-tuned model %s%n",
                v.deltas().size(), v.norm(), v.added().size(), v.added().keySet());
        if (saveVector != null) {
            v.save(saveVector);
            System.out.println("update written to " + saveVector.toAbsolutePath());
        }
        if (output == null) {
            return 0;
        }
        Path target = ModelOptions.modelDir(onto != null ? onto : base, "main", onto != null ? "--onto" : "--base");
        if (lines) {
            int layers = numLayers != null ? numLayers : layers(target, v);
            v = new Lines(alpha, beta, layers).apply(v);
            System.out.printf("LiNeS over %d layers: factors from %.3g to %.3g%n", layers, alpha, alpha + beta);
        }
        v.applyTo(target, scale, output);
        System.out.printf("%s + %.4g x update written to %s%n", target, scale, output.toAbsolutePath());
        return 0;
    }

    private static int layers(Path base, TaskVector v) throws IOException {
        List<ObjectNode> configs = new ArrayList<>();
        configs.add(v.fineTunedConfig());
        if (Files.isRegularFile(base.resolve("config.json"))) {
            configs.add(Json.readObject(base.resolve("config.json")));
        }
        for (ObjectNode c : configs) {
            if (c != null) {
                for (String k : new String[] {"num_hidden_layers", "n_layer", "num_layers"}) {
                    if (c.path(k).canConvertToInt()) {
                        return c.path(k).asInt();
                    }
                }
            }
        }
        int n = Lines.countLayers(v.deltas().keySet());
        if (n == 0) {
            throw new IllegalArgumentException("LiNeS: no layer index in the update's keys and no num_hidden_layers in"
                    + " config.json; give --num-layers");
        }
        return n;
    }
}
