package io.github.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.AtomicDirectory;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.examples.Classifier;
import io.github.peft4j.examples.data.LabeledTexts;
import io.github.peft4j.merge.Grafting;
import io.github.peft4j.merge.TaskVector;
import io.github.peft4j.models.bert.BertTokenizer;
import io.github.peft4j.train.EChartsPage;
import io.github.peft4j.train.Evaluation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code peft graft}: skill localization, the largest fractions of a full fine-tune's update grafted onto the base. */
@Command(
        name = "graft",
        mixinStandardHelpOptions = true,
        description = "Skill localization: graft the largest fraction of a full fine-tune's update (by magnitude,"
                + " over all tensors) onto the base, for each --fractions value, evaluate each grafted model on the"
                + " test split and write the accuracy-versus-fraction curve (graft.html, results.json). A LoRA adapter"
                + " can be grafted after 'peft merge'.")
public final class GraftCommand implements Callable<Integer> {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Mixin
    private DataOptions dataOptions;

    @Option(names = "--base", defaultValue = "minilm", description = "the model the fine-tune started from")
    private String base;

    @Option(names = "--fine-tuned", required = true, description = "the fully fine-tuned classifier directory")
    private Path fineTuned;

    @Option(
            names = "--fractions",
            split = ",",
            defaultValue = "0,0.0001,0.001,0.01,0.1,1",
            description = "fractions of the update's entries to graft (default: ${DEFAULT-VALUE})")
    private List<Double> fractions;

    @Option(names = "--seed", defaultValue = "42", description = "split seed, as in training (default: 42)")
    private long seed;

    @Option(names = "--max-length", defaultValue = "128", description = "tokens per text (default: 128)")
    private int maxLength;

    @Option(names = "--keep-models", description = "keep each grafted model directory (fraction-F/) in --output")
    private boolean keepModels;

    @Option(names = "--output", required = true, description = "the directory for graft.html and results.json")
    private Path output;

    @Override
    public Integer call() throws Exception {
        for (double f : fractions) {
            if (!(f >= 0 && f <= 1)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--fractions must be in [0, 1]; got " + f);
            }
        }
        Path baseDir = ModelOptions.modelDir(base, "main", "--base");
        LabeledTexts test = dataOptions.split(seed).test();
        TaskVector v = TaskVector.between(baseDir, fineTuned);
        long entries =
                v.deltas().values().stream().mapToLong(t -> t.values().length).sum();
        Files.createDirectories(output);
        List<double[]> curve = new ArrayList<>();
        List<List<String>> rows = new ArrayList<>();
        ArrayNode results = Json.MAPPER.createArrayNode();
        for (double f : fractions) {
            TaskVector g = Grafting.topFraction(v, f);
            Path model = output.resolve(String.format(Locale.ROOT, "fraction-%s", f));
            g.applyTo(baseDir, 1.0, model);
            Evaluation e;
            try (NDManager manager = NDManager.newBaseManager();
                    BertTokenizer tokenizer = BertTokenizer.open(model, maxLength)) {
                Classifier c = Classifier.load(model, null, manager);
                e = Evaluation.of(
                        c.model(),
                        test.toTrainingData(c.classes(), tokenizer),
                        32,
                        c.classes().size(),
                        manager);
            }
            if (!keepModels) {
                AtomicDirectory.deleteTree(model);
            }
            long kept = g.nonZeros();
            System.out.printf(
                    Locale.ROOT,
                    "fraction %-8s %,12d of %,d entries grafted: test accuracy %.4f, macro-F1 %.4f%n",
                    f,
                    kept,
                    entries,
                    e.accuracy(),
                    e.macroF1());
            curve.add(new double[] {Math.max(f, 1e-6), e.accuracy()});
            rows.add(List.of(
                    Double.toString(f),
                    String.format(Locale.ROOT, "%,d", kept),
                    String.format(Locale.ROOT, "%.4f", e.accuracy()),
                    String.format(Locale.ROOT, "%.4f", e.macroF1())));
            results.addObject()
                    .put("fraction", f)
                    .put("entries", kept)
                    .put("test_accuracy", e.accuracy())
                    .put("test_macro_f1", e.macroF1());
        }
        ObjectNode json = Json.MAPPER.createObjectNode();
        json.put("fine_tuned", fineTuned.toString()).put("entries", entries).set("grafts", results);
        Files.writeString(output.resolve("results.json"), Json.write(json));
        ObjectNode chart = EChartsPage.lineChart(
                "Test accuracy of the base with the largest fraction of the update grafted",
                "fraction of update entries (0 drawn at 1e-6)",
                "test accuracy",
                false,
                Map.of("grafted", curve));
        chart.with("xAxis").put("type", "log");
        new EChartsPage("peft4j graft")
                .paragraph(fineTuned + " grafted onto " + baseDir.getFileName() + " ("
                        + String.format(Locale.ROOT, "%,d", entries) + " update entries; the new head is always kept).")
                .chart("graft", chart, 360)
                .table(List.of("fraction", "entries grafted", "test accuracy", "test macro-F1"), rows)
                .write(output.resolve("graft.html"));
        System.out.println("curve: " + output.resolve("graft.html").toAbsolutePath());
        return 0;
    }
}
