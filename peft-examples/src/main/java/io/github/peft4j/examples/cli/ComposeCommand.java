package io.github.peft4j.examples.cli;

import io.github.peft4j.examples.Classifier;
import io.github.peft4j.merge.SparseComposition;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code peft compose}: sparse fine-tunes (SaRA, SpIEL) added up, with the entries they both touch reported. */
@Command(
        name = "compose",
        mixinStandardHelpOptions = true,
        description = "Compose sparse fine-tunes (SaRA, SpIEL) by adding their updates, as LT-SFT composes task and"
                + " language fine-tunes, into a model directory (base + the summed updates, the first adapter's head);"
                + " reports per layer the entries several adapters touch (conflicts) and those whose updates disagree"
                + " in sign.")
public final class ComposeCommand implements Callable<Integer> {

    @Option(names = "--adapter", required = true, description = "a SaRA or SpIEL adapter directory; repeat")
    private List<Path> adapters;

    @Option(
            names = "--base",
            defaultValue = "minilm",
            description = "the base model the adapters were trained on: minilm, a directory or a hub id")
    private String base;

    @Option(names = "--output", required = true, description = "the model directory to write (base + the updates)")
    private Path output;

    @Override
    public Integer call() throws Exception {
        Path baseDir = ModelOptions.modelDir(base, "main", "--base");
        SparseComposition.Report r = SparseComposition.compose(adapters, baseDir, output);
        for (SparseComposition.LayerReport l : r.layers()) {
            if (l.conflicts() > 0) {
                System.out.printf(
                        Locale.ROOT,
                        "%s: %d entries (%s per adapter), %d conflicts, %d of opposite sign%n",
                        l.layer(),
                        l.entries(),
                        Arrays.toString(l.entriesPerAdapter()),
                        l.conflicts(),
                        l.signConflicts());
            }
        }
        Classifier.copyLabels(adapters.get(0), output);
        System.out.printf(
                Locale.ROOT,
                "%s + ... of %d adapters: %d layers, %d entries, %d conflicts: model written to %s%n",
                r.config().path("peft_type").asText(),
                adapters.size(),
                r.layers().size(),
                r.entries(),
                r.conflicts(),
                output.toAbsolutePath());
        return 0;
    }
}
