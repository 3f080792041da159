package io.github.peft4j.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Writes {@code report.html}: the run's settings, its loss and accuracy curves (inline SVG) and the test figures. */
public final class TrainingReport {

    private TrainingReport() {}

    /**
     * Writes the report.
     *
     * @param file the HTML file
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
        StringBuilder h = new StringBuilder();
        h.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>")
                .append(esc(title))
                .append("</title><style>body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}"
                        + "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
                        + "h2{margin-top:1.5em}</style></head><body>");
        h.append("<h1>").append(esc(title)).append("</h1>");
        if (test != null) {
            h.append(String.format(
                    Locale.ROOT,
                    "<p><b>Test accuracy %.4f</b>, macro-F1 %.4f, loss %.4f on %d" + " examples.</p>",
                    test.accuracy(),
                    test.macroF1(),
                    test.loss(),
                    test.examples()));
        }
        h.append(String.format(
                Locale.ROOT,
                "<p>%d optimizer steps of %d planned in %.0f s%s.</p>",
                result.steps(),
                result.totalSteps(),
                result.seconds(),
                result.stoppedEarly() ? " (stopped early)" : ""));
        List<double[]> loss = new ArrayList<>();
        List<double[]> acc = new ArrayList<>();
        for (FitContext.Point p : result.history()) {
            loss.add(new double[] {p.step(), p.loss()});
            if (p.evaluation() != null) {
                acc.add(new double[] {p.step(), p.evaluation().accuracy()});
            }
        }
        h.append("<h2>Training loss</h2>").append(chart(smooth(loss, 10), "step", "loss (10-step mean)"));
        if (!acc.isEmpty()) {
            h.append("<h2>Validation accuracy</h2>").append(chart(acc, "step", "accuracy"));
        }
        if (test != null) {
            h.append("<h2>Test confusion matrix</h2><table><tr><th>true \\ predicted</th>");
            classes.forEach(c -> h.append("<th>").append(esc(c)).append("</th>"));
            h.append("</tr>");
            for (int i = 0; i < classes.size(); i++) {
                h.append("<tr><th>").append(esc(classes.get(i))).append("</th>");
                for (int j = 0; j < classes.size(); j++) {
                    h.append("<td>").append(test.confusion()[i][j]).append("</td>");
                }
                h.append("</tr>");
            }
            h.append("</table>");
        }
        h.append("<h2>Settings</h2><table>");
        settings.forEach((k, v) -> h.append("<tr><th>")
                .append(esc(k))
                .append("</th><td>")
                .append(esc(v))
                .append("</td></tr>"));
        h.append("</table></body></html>\n");
        Files.writeString(file, h.toString(), StandardCharsets.UTF_8);
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

    private static String chart(List<double[]> pts, String xLabel, String yLabel) {
        int width = 900;
        int height = 260;
        int pad = 50;
        double minX = pts.stream().mapToDouble(p -> p[0]).min().orElse(0);
        double maxX = pts.stream().mapToDouble(p -> p[0]).max().orElse(1);
        double minY = pts.stream().mapToDouble(p -> p[1]).min().orElse(0);
        double maxY = pts.stream().mapToDouble(p -> p[1]).max().orElse(1);
        if (maxX == minX) {
            maxX = minX + 1;
        }
        if (maxY == minY) {
            maxY = minY + 1;
        }
        StringBuilder poly = new StringBuilder();
        for (double[] p : pts) {
            double x = pad + (p[0] - minX) / (maxX - minX) * (width - 2 * pad);
            double y = height - pad + -(p[1] - minY) / (maxY - minY) * (height - 2 * pad);
            poly.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        }
        return String.format(
                Locale.ROOT,
                "<svg width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">"
                        + "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>"
                        + "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"%s\"/>"
                        + "<text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>"
                        + "<text x=\"5\" y=\"%d\" font-size=\"12\">%.4g</text>"
                        + "<text x=\"5\" y=\"%d\" font-size=\"12\">%.4g</text>"
                        + "<text x=\"%d\" y=\"%d\" font-size=\"12\">%.0f</text>"
                        + "<text x=\"%d\" y=\"%d\" font-size=\"12\">%.0f"
                        + "</text><text x=\"%d\" y=\"15\" font-size=\"12\">%s</text></svg>",
                width,
                height,
                pad,
                pad,
                width - 2 * pad,
                height - 2 * pad,
                poly,
                width / 2,
                height - 10,
                esc(xLabel),
                pad + 4,
                maxY,
                height - pad,
                minY,
                pad,
                height - pad + 15,
                minX,
                width - pad - 20,
                height - pad + 15,
                maxX,
                pad,
                esc(yLabel));
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
