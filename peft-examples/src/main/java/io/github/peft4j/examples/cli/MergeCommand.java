package io.github.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.examples.Classifier;
import io.github.peft4j.models.bert.BertForSequenceClassification;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code peft merge}: write base + adapter as one Hugging Face model directory. */
@Command(
        name = "merge",
        mixinStandardHelpOptions = true,
        description = "Merge an adapter into its base model and write a Hugging Face model directory (config.json,"
                + " model.safetensors, tokenizer.json) that --model accepts again. With --adapters A,B it combines"
                + " several adapters into a new adapter instead: the options of 'peft combine'.")
public final class MergeCommand implements Callable<Integer> {

    @Mixin
    private ModelOptions modelOptions;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--adapter", description = "adapter directory written by 'peft train' (required)")
    private Path adapter;

    @Option(
            names = "--adapters",
            description = "several adapters, comma-separated: combine them as 'peft combine' does (--weights,"
                    + " --combination, --density, ...)")
    private String adapters;

    @CommandLine.Unmatched
    private List<String> combineOptions = new ArrayList<>();

    @Option(names = "--output", required = true, description = "the model directory to write")
    private Path output;

    @Override
    public Integer call() throws Exception {
        if (adapters != null) {
            List<String> args = new ArrayList<>(List.of("--adapters", adapters, "--output", output.toString()));
            args.addAll(combineOptions);
            return new CommandLine(new CombineCommand()).execute(args.toArray(String[]::new));
        }
        if (!combineOptions.isEmpty()) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "unknown option(s) " + combineOptions + " (the combination options need --adapters A,B)");
        }
        if (adapter == null) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "give --adapter DIR (or --adapters A,B to combine several)");
        }
        Path modelDir = modelOptions.modelDir();
        try (NDManager manager = modelOptions.manager()) {
            Classifier c = Classifier.load(modelDir, adapter, manager);
            BertForSequenceClassification merged =
                    (BertForSequenceClassification) ((PeftModel) c.model()).mergeAndUnload();
            Classifier.writeMerged(merged, c.classes(), modelDir, output);
            System.out.println("merged model written to " + output.toAbsolutePath());
            return 0;
        }
    }
}
