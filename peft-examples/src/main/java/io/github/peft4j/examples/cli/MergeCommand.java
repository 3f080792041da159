package io.github.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.examples.Classifier;
import io.github.peft4j.models.bert.BertForSequenceClassification;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code peft merge}: write base + adapter as one Hugging Face model directory. */
@Command(
        name = "merge",
        mixinStandardHelpOptions = true,
        description = "Merge an adapter into its base model and write a Hugging Face model directory (config.json,"
                + " model.safetensors, tokenizer.json) that --model accepts again.")
public final class MergeCommand implements Callable<Integer> {

    @Mixin
    private ModelOptions modelOptions;

    @Option(names = "--adapter", required = true, description = "adapter directory written by 'peft train'")
    private Path adapter;

    @Option(names = "--output", required = true, description = "the model directory to write")
    private Path output;

    @Override
    public Integer call() throws Exception {
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
