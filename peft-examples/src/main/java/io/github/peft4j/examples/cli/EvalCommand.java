package io.github.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import io.github.peft4j.examples.Classifier;
import io.github.peft4j.examples.data.LabeledTexts;
import io.github.peft4j.examples.data.Split;
import io.github.peft4j.models.bert.BertTokenizer;
import io.github.peft4j.train.Evaluation;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code peft eval}: accuracy, macro-F1 and loss of a classifier on the test split. */
@Command(
        name = "eval",
        mixinStandardHelpOptions = true,
        description = "Evaluate a classifier (base model + adapter, or a merged model) on the test split of the data"
                + " (the same seeded split as 'peft train').")
public final class EvalCommand implements Callable<Integer> {

    @Mixin
    private ModelOptions modelOptions;

    @Mixin
    private DataOptions dataOptions;

    @Option(names = "--adapter", description = "adapter directory written by 'peft train'")
    private Path adapter;

    @Option(
            names = "--split",
            defaultValue = "test",
            description = "test, validation or train (default: ${DEFAULT-VALUE})")
    private String splitName;

    @Option(
            names = "--seed",
            defaultValue = "42",
            description = "split seed, as in training (default: ${DEFAULT-VALUE})")
    private long seed;

    @Option(names = "--batch-size", defaultValue = "32", description = "batch size (default: ${DEFAULT-VALUE})")
    private int batchSize;

    @Override
    public Integer call() throws Exception {
        Split split = dataOptions.split(seed);
        LabeledTexts part =
                switch (splitName.toLowerCase(Locale.ROOT)) {
                    case "test" -> split.test();
                    case "validation" -> split.validation();
                    case "train" -> split.train();
                    default ->
                        throw new IllegalArgumentException(
                                "--split must be test, validation or train; got '" + splitName + "'");
                };
        Path modelDir = modelOptions.modelDir();
        try (NDManager manager = modelOptions.manager();
                BertTokenizer tokenizer = BertTokenizer.open(modelDir, modelOptions.maxLength)) {
            Classifier c = Classifier.load(modelDir, adapter, manager);
            Evaluation e = Evaluation.of(
                    c.model(),
                    part.toTrainingData(c.classes(), tokenizer),
                    batchSize,
                    c.classes().size(),
                    manager);
            System.out.printf(
                    Locale.ROOT,
                    "%s split: %d examples%naccuracy  %.4f%nmacro-F1  %.4f%nloss      %.4f%n",
                    splitName,
                    e.examples(),
                    e.accuracy(),
                    e.macroF1(),
                    e.loss());
            return 0;
        }
    }
}
