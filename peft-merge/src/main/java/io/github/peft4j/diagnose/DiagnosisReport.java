package io.github.peft4j.diagnose;

import io.github.peft4j.merge.Lines;
import io.github.peft4j.train.EChartsPage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * The diagnostics page of one or more updates of the same base (adapters, full fine-tunes): a summary table, intruder
 * counts, relative norms and effective ranks per layer side by side, and each update's singular-value spectra, drawn
 * with ECharts inlined into the page.
 */
public final class DiagnosisReport {

    private DiagnosisReport() {}

    /**
     * Summarises one update's diagnoses.
     *
     * @param layers the diagnoses
     * @return layers, total intruders, layers with intruders, mean effective rank, mean relative norm
     */
    public static Summary summarize(List<LayerDiagnosis> layers) {
        int total = 0;
        int withIntruders = 0;
        double rank = 0;
        double norm = 0;
        for (LayerDiagnosis d : layers) {
            total += d.intruders();
            withIntruders += d.intruders() > 0 ? 1 : 0;
            rank += d.effectiveRank();
            norm += d.relativeNorm();
        }
        int n = Math.max(1, layers.size());
        return new Summary(layers.size(), total, withIntruders, rank / n, norm / n);
    }

    /**
     * One update in numbers.
     *
     * @param layers the number of layers diagnosed
     * @param intruders intruder dimensions over all layers
     * @param layersWithIntruders layers with at least one
     * @param meanEffectiveRank the mean effective rank of the updates
     * @param meanRelativeNorm the mean ‖ΔW‖/‖W‖
     */
    public record Summary(
            int layers, int intruders, int layersWithIntruders, double meanEffectiveRank, double meanRelativeNorm) {}

    /**
     * Builds the page.
     *
     * @param title the page title
     * @param updates label to diagnoses, in display order
     * @param topK k of the intruder test
     * @param epsilon ε of the intruder test
     * @return the page (write it with {@link EChartsPage#write})
     */
    public static EChartsPage page(String title, Map<String, List<LayerDiagnosis>> updates, int topK, double epsilon) {
        EChartsPage page = new EChartsPage(title);
        page.paragraph(String.format(
                Locale.ROOT,
                "Intruder dimensions: among the top %d left singular vectors of each fine-tuned weight W + ΔW, those"
                        + " whose largest |cosine| with any singular vector of the base weight W is below %.2f"
                        + " (Shuttleworth et al., 2024). Effective rank: exp of the entropy of ΔW's normalised"
                        + " singular values. Relative norm: ||ΔW||_F / ||W||_F.",
                topK,
                epsilon));
        List<List<String>> rows = new ArrayList<>();
        updates.forEach((label, ds) -> {
            Summary s = summarize(ds);
            rows.add(List.of(
                    label,
                    Integer.toString(s.layers()),
                    Integer.toString(s.intruders()),
                    Integer.toString(s.layersWithIntruders()),
                    String.format(Locale.ROOT, "%.2f", s.meanEffectiveRank()),
                    String.format(Locale.ROOT, "%.4g", s.meanRelativeNorm())));
        });
        page.heading("Summary")
                .table(
                        List.of(
                                "update",
                                "layers",
                                "intruder dimensions",
                                "layers with intruders",
                                "mean effective rank",
                                "mean ||ΔW||/||W||"),
                        rows);
        Set<String> layerNames = new LinkedHashSet<>();
        updates.values().forEach(ds -> ds.forEach(d -> layerNames.add(d.layer())));
        // by depth (the block index in the path), then in the order the updates list them
        List<String> seen = new ArrayList<>(layerNames);
        List<String> cats = new ArrayList<>(layerNames);
        cats.sort(Comparator.comparingInt((String l) -> Lines.layerOf(l).orElse(Integer.MAX_VALUE))
                .thenComparingInt(seen::indexOf));
        String prefix = commonPrefix(cats);
        List<String> shortNames =
                cats.stream().map(c -> c.substring(prefix.length())).toList();
        if (!prefix.isEmpty()) {
            page.paragraph("Layers below are named without their common prefix " + prefix);
        }
        page.heading("Intruder dimensions per layer")
                .chart(
                        "intruders",
                        EChartsPage.barChart(
                                "Intruder dimensions (top " + topK + ", epsilon " + epsilon + ")",
                                shortNames,
                                "count",
                                perLayer(updates, cats, LayerDiagnosis::intruders)),
                        420);
        page.heading("Size of the update")
                .chart(
                        "relative-norm",
                        EChartsPage.barChart(
                                "||ΔW|| / ||W||",
                                shortNames,
                                "ratio",
                                perLayer(updates, cats, LayerDiagnosis::relativeNorm)),
                        420);
        page.heading("Effective rank of the update")
                .chart(
                        "effective-rank",
                        EChartsPage.barChart(
                                "Effective rank of ΔW",
                                shortNames,
                                "effective rank",
                                perLayer(updates, cats, LayerDiagnosis::effectiveRank)),
                        420);
        int i = 0;
        for (Map.Entry<String, List<LayerDiagnosis>> e : updates.entrySet()) {
            Map<String, List<double[]>> spectra = new LinkedHashMap<>();
            for (LayerDiagnosis d : e.getValue()) {
                List<double[]> pts = new ArrayList<>();
                double top = d.updateSpectrum().length == 0 ? 0 : d.updateSpectrum()[0];
                for (int j = 0; j < d.updateSpectrum().length && top > 0; j++) {
                    pts.add(new double[] {j + 1, d.updateSpectrum()[j] / top});
                }
                spectra.put(
                        d.layer().substring(Math.min(prefix.length(), d.layer().length())), pts);
            }
            page.heading("Spectra of the update: " + e.getKey())
                    .chart(
                            "spectra-" + i++,
                            EChartsPage.lineChart(
                                    "Singular values of ΔW / the largest, per layer (" + e.getKey() + ")",
                                    "index",
                                    "σᵢ / σ₁",
                                    true,
                                    spectra),
                            420);
        }
        List<List<String>> all = new ArrayList<>();
        updates.forEach((label, ds) -> ds.forEach(d -> all.add(List.of(
                label,
                d.layer(),
                d.out() + " x " + d.in(),
                String.format(Locale.ROOT, "%.4g", d.relativeNorm()),
                String.format(Locale.ROOT, "%.2f", d.effectiveRank()),
                Integer.toString(d.intruders()),
                String.format(Locale.ROOT, "%.3f", min(d.bestCosines()))))));
        page.heading("Per layer")
                .table(
                        List.of(
                                "update",
                                "layer",
                                "shape",
                                "||ΔW||/||W||",
                                "effective rank",
                                "intruders",
                                "lowest best |cos| in top k"),
                        all);
        return page;
    }

    /**
     * Writes the page of {@link #page} atomically.
     *
     * @param file the HTML file
     * @param title the title
     * @param updates label to diagnoses
     * @param topK k
     * @param epsilon ε
     * @throws IOException if writing fails
     */
    public static void write(
            Path file, String title, Map<String, List<LayerDiagnosis>> updates, int topK, double epsilon)
            throws IOException {
        page(title, updates, topK, epsilon).write(file);
    }

    private static Map<String, double[]> perLayer(
            Map<String, List<LayerDiagnosis>> updates, List<String> layers, ToDoubleFunction<LayerDiagnosis> f) {
        Map<String, double[]> out = new LinkedHashMap<>();
        updates.forEach((label, ds) -> {
            double[] v = new double[layers.size()];
            Arrays.fill(v, Double.NaN);
            for (LayerDiagnosis d : ds) {
                v[layers.indexOf(d.layer())] = f.applyAsDouble(d);
            }
            out.put(label, v);
        });
        return out;
    }

    /** The longest prefix ending in a dot that every name shares (the model's path to its layers). */
    static String commonPrefix(List<String> names) {
        if (names.size() < 2) {
            return "";
        }
        String p = names.get(0);
        for (String n : names) {
            int i = 0;
            while (i < Math.min(p.length(), n.length()) && p.charAt(i) == n.charAt(i)) {
                i++;
            }
            p = p.substring(0, i);
        }
        return p.substring(0, p.lastIndexOf('.') + 1);
    }

    private static double min(double[] v) {
        double m = Double.NaN;
        for (double x : v) {
            m = Double.isNaN(m) ? x : Math.min(m, x);
        }
        return m;
    }
}
