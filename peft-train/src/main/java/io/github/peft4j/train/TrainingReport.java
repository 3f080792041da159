package io.github.peft4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.train.listener.MetricsFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes {@code report.html}: the run's outcome, its curves drawn with ECharts (training and validation loss,
 * validation accuracy, learning rate, and from the run's {@code metrics.jsonl} throughput and resident memory over
 * the steps), the test confusion matrix and the settings. One self-contained file ({@link EChartsPage}).
 */
public final class TrainingReport {

    private TrainingReport() {}

    /**
     * Writes the report.
     *
     * @param file the HTML file; a {@code metrics.jsonl} beside it adds the throughput and memory charts
     * @param title the heading
     * @param settings the run's settings, in display order
     * @param result the training outcome
     * @param test the test evaluation, or null
     * @param classes the class names
     * @throws IOException if writing fails
     */
    public static void write(
            Path file,
            String title,
            Map<String, String> settings,
            FineTuner.Result result,
            Evaluation test,
            List<String> classes)
            throws IOException {
        EChartsPage page = new EChartsPage(title);
        if (test != null) {
            page.html(String.format(
                    Locale.ROOT,
                    "<p><b>Test accuracy %.4f</b>, macro-F1 %.4f, loss %.4f on %d examples.</p>",
                    test.accuracy(),
                    test.macroF1(),
                    test.loss(),
                    test.examples()));
        }
        page.paragraph(String.format(
                Locale.ROOT,
                "%d optimizer steps of %d planned in %.0f s%s.",
                result.steps(),
                result.totalSteps(),
                result.seconds(),
                result.stoppedEarly() ? " (stopped early)" : ""));
        List<double[]> loss = new ArrayList<>();
        List<double[]> evalLoss = new ArrayList<>();
        List<double[]> acc = new ArrayList<>();
        List<double[]> lr = new ArrayList<>();
        for (FitContext.Point p : result.history()) {
            loss.add(new double[] {p.step(), p.loss()});
            lr.add(new double[] {p.step(), p.lr()});
            if (p.evaluation() != null) {
                evalLoss.add(new double[] {p.step(), p.evaluation().loss()});
                acc.add(new double[] {p.step(), p.evaluation().accuracy()});
            }
        }
        Map<String, List<double[]>> losses = new LinkedHashMap<>();
        losses.put("training loss (10-step mean)", smooth(loss, 10));
        if (!evalLoss.isEmpty()) {
            losses.put("validation loss", evalLoss);
        }
        page.heading("Loss").chart("loss", EChartsPage.lineChart("Loss", "step", "loss", false, losses), 320);
        if (!acc.isEmpty()) {
            page.heading("Validation accuracy")
                    .chart(
                            "accuracy",
                            EChartsPage.lineChart(
                                    "Validation accuracy", "step", "accuracy", false, Map.of("validation", acc)),
                            280);
        }
        page.heading("Learning rate")
                .chart(
                        "lr",
                        EChartsPage.lineChart("Learning rate", "step", "lr", false, Map.of("learning rate", lr)),
                        260);
        Path metrics = file.resolveSibling(MetricsFile.NAME);
        if (Files.isRegularFile(metrics)) {
            addMetricsCharts(page, metrics);
        }
        if (test != null) {
            List<String> header = new ArrayList<>();
            header.add("true \\ predicted");
            header.addAll(classes);
            List<List<String>> rows = new ArrayList<>();
            for (int i = 0; i < classes.size(); i++) {
                List<String> r = new ArrayList<>();
                r.add(classes.get(i));
                for (int j = 0; j < classes.size(); j++) {
                    r.add(Long.toString(test.confusion()[i][j]));
                }
                rows.add(r);
            }
            page.heading("Test confusion matrix").table(header, rows);
        }
        List<List<String>> rows = new ArrayList<>();
        settings.forEach((k, v) -> rows.add(List.of(k, v)));
        page.heading("Settings").table(List.of("setting", "value"), rows);
        page.write(file);
    }

    /** Throughput (steps per second over 10-step windows) and resident memory, from the step lines. */
    private static void addMetricsCharts(EChartsPage page, Path metrics) throws IOException {
        List<double[]> elapsed = new ArrayList<>();
        List<double[]> rss = new ArrayList<>();
        for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = Json.MAPPER.readTree(line);
            double step = n.path("step").asDouble();
            if (n.has("elapsed_s")) {
                elapsed.add(new double[] {step, n.path("elapsed_s").asDouble()});
            }
            if (n.has("rss_mb")) {
                rss.add(new double[] {step, n.path("rss_mb").asDouble()});
            }
        }
        List<double[]> throughput = new ArrayList<>();
        int w = 10;
        for (int i = w; i < elapsed.size(); i++) {
            double[] a = elapsed.get(i - w);
            double[] b = elapsed.get(i);
            double dt = b[1] - a[1];
            if (dt > 0 && b[0] > a[0]) {
                throughput.add(new double[] {b[0], (b[0] - a[0]) / dt});
            }
        }
        if (!throughput.isEmpty()) {
            page.heading("Throughput")
                    .chart(
                            "throughput",
                            EChartsPage.lineChart(
                                    "Optimizer steps per second (10-step windows, evaluations included)",
                                    "step",
                                    "steps/s",
                                    false,
                                    Map.of("steps/s", throughput)),
                            260);
        }
        if (!rss.isEmpty()) {
            page.heading("Memory")
                    .chart(
                            "rss",
                            EChartsPage.lineChart("Resident set size", "step", "MiB", false, Map.of("RSS", rss)),
                            260);
        }
    }

    private static List<double[]> smooth(List<double[]> pts, int w) {
        List<double[]> out = new ArrayList<>();
        double sum = 0;
        for (int i = 0; i < pts.size(); i++) {
            sum += pts.get(i)[1];
            if (i >= w) {
                sum -= pts.get(i - w)[1];
            }
            out.add(new double[] {pts.get(i)[0], sum / Math.min(i + 1, w)});
        }
        return out;
    }
}
