package io.github.peft4j.examples.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.AdapterFiles;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.diagnose.DiagnosisReport;
import io.github.peft4j.diagnose.IntruderReduction;
import io.github.peft4j.diagnose.LayerDiagnosis;
import io.github.peft4j.diagnose.SpectralDiagnosis;
import io.github.peft4j.examples.Classifier;
import io.github.peft4j.merge.LoraAdapter;
import io.github.peft4j.models.HfCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code peft diagnose}: what updates did to a base model's weights, per layer, with an HTML page of plots. */
@Command(
        name = "diagnose",
        mixinStandardHelpOptions = true,
        description = "Per layer of one or more updates of the same base (LoRA adapters, or fully fine-tuned models,"
                + " or runs holding either): ||dW||/||W||, the effective rank and spectrum of dW, and intruder"
                + " dimensions of W + dW (Shuttleworth et al., 2024); writes an HTML page with the plots.")
public final class DiagnoseCommand implements Callable<Integer> {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Parameters(arity = "1..*", description = "adapter directories, fine-tuned model directories, or run directories")
    private List<Path> updates;

    @Option(names = "--base", defaultValue = "minilm", description = "the base model: minilm, a directory or a hub id")
    private String base;

    @Option(names = "--top-k", defaultValue = "10", description = "top singular vectors tested (default: 10)")
    private int topK;

    @Option(names = "--epsilon", defaultValue = "0.5", description = "|cosine| below which one intrudes (default: 0.5)")
    private double epsilon;

    @Option(names = "--output", description = "the HTML page to write (default: diagnose.html in the first update)")
    private Path output;

    @Option(names = "--json", description = "also write the per-layer figures to this JSON file")
    private Path json;

    @Option(
            names = "--reduce-intruders",
            description = "also write the first update (a LoRA adapter) with its intruder dimensions reduced, as"
                    + " Python PEFT's reduce_intruder_dimension, to this directory")
    private Path reduced;

    @Option(
            names = "--mitigation-lambda",
            defaultValue = "0.75",
            description = "--reduce-intruders: the part of the intruder dimensions kept (default: 0.75)")
    private double lambda;

    @Override
    public Integer call() throws Exception {
        SpectralDiagnosis d;
        try {
            d = SpectralDiagnosis.builder().optTopK(topK).optEpsilon(epsilon).build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Path baseDir = ModelOptions.modelDir(base, "main", "--base");
        Map<String, List<LayerDiagnosis>> results = new LinkedHashMap<>();
        for (Path u : updates) {
            Path target = resolve(u);
            String label = u.toString();
            List<LayerDiagnosis> ds = Files.isRegularFile(target.resolve(AdapterFiles.CONFIG))
                    ? d.ofAdapter(LoraAdapter.read(target), baseDir)
                    : d.ofFineTune(baseDir, target);
            if (ds.isEmpty()) {
                throw new IllegalArgumentException(target + ": no layer to diagnose");
            }
            results.put(label, ds);
            DiagnosisReport.Summary s = DiagnosisReport.summarize(ds);
            System.out.printf(
                    Locale.ROOT,
                    "%s: %d layers, %d intruder dimensions in %d layers, mean effective rank %.2f, mean"
                            + " ||dW||/||W|| %.4g%n",
                    label,
                    s.layers(),
                    s.intruders(),
                    s.layersWithIntruders(),
                    s.meanEffectiveRank(),
                    s.meanRelativeNorm());
        }
        Path page = output != null ? output : resolve(updates.get(0)).resolve("diagnose.html");
        DiagnosisReport.write(page, "peft4j diagnose", results, topK, epsilon);
        System.out.println("plots: " + page.toAbsolutePath());
        if (json != null) {
            ObjectNode root = Json.MAPPER.createObjectNode().put("top_k", topK).put("epsilon", epsilon);
            ObjectNode all = root.putObject("updates");
            results.forEach((label, ds) -> {
                DiagnosisReport.Summary s = DiagnosisReport.summarize(ds);
                ObjectNode u = all.putObject(label)
                        .put("layers", s.layers())
                        .put("intruders", s.intruders())
                        .put("layers_with_intruders", s.layersWithIntruders())
                        .put("mean_effective_rank", s.meanEffectiveRank())
                        .put("mean_relative_norm", s.meanRelativeNorm());
                ArrayNode per = u.putArray("per_layer");
                for (LayerDiagnosis l : ds) {
                    ObjectNode o = per.addObject()
                            .put("layer", l.layer())
                            .put("relative_norm", l.relativeNorm())
                            .put("effective_rank", l.effectiveRank())
                            .put("intruders", l.intruders());
                    ArrayNode c = o.putArray("best_cosines");
                    for (double v : l.bestCosines()) {
                        c.add(v);
                    }
                }
            });
            Files.writeString(json, Json.write(root));
        }
        if (reduced != null) {
            Path first = resolve(updates.get(0));
            if (!Files.isRegularFile(first.resolve(AdapterFiles.CONFIG))) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(),
                        "--reduce-intruders needs a LoRA adapter as the first update; " + first + " is a model");
            }
            IntruderReduction.Result r = IntruderReduction.apply(LoraAdapter.read(first), baseDir, d, lambda);
            long n = r.intrudersByLayer().values().stream()
                    .mapToInt(Integer::intValue)
                    .sum();
            r.adapter()
                    .save(
                            reduced,
                            "# LoRA adapter with reduced intruder dimensions\n\nFrom `" + first.getFileName() + "`: "
                                    + n + " intruder dimensions (top " + topK + ", epsilon " + epsilon
                                    + ") kept at " + lambda + " of their size.\n");
            Classifier.copyLabels(first, reduced);
            System.out.printf(Locale.ROOT, "%d intruder dimensions reduced to %.2f: %s%n", n, lambda, reduced);
        }
        return 0;
    }

    /** A run directory stands for its adapter/ or model/. */
    private static Path resolve(Path p) throws IOException {
        if (Files.isRegularFile(p.resolve(AdapterFiles.CONFIG))
                || Files.isRegularFile(p.resolve(HfCheckpoint.SINGLE))
                || Files.isRegularFile(p.resolve(HfCheckpoint.INDEX))) {
            return p;
        }
        for (String sub : new String[] {"adapter", "model"}) {
            if (Files.isDirectory(p.resolve(sub))) {
                return resolve(p.resolve(sub));
            }
        }
        throw new IOException(p + " is neither an adapter (" + AdapterFiles.CONFIG + "), a model ("
                + HfCheckpoint.SINGLE + ") nor a run directory holding adapter/ or model/");
    }
}
