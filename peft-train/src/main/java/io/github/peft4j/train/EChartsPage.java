package io.github.peft4j.train;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A self-contained HTML page of text, tables and charts drawn by Apache ECharts, whose script (the
 * {@code org.webjars.npm:echarts} jar's {@code echarts.min.js}) is inlined, so the page works offline and from a file.
 * Each chart is an ECharts option object; the page renders every chart when loaded.
 */
public final class EChartsPage {

    /** Where the webjar keeps the script. */
    static final String SCRIPT = "META-INF/resources/webjars/echarts/5.3.1/dist/echarts.min.js";

    private static volatile String script;

    private final String title;
    private final StringBuilder body = new StringBuilder();
    private final List<String[]> charts = new ArrayList<>();

    /**
     * Starts a page.
     *
     * @param title the page title and first heading
     */
    public EChartsPage(String title) {
        this.title = title;
        body.append("<h1>").append(escape(title)).append("</h1>\n");
    }

    /**
     * Adds a heading.
     *
     * @param text the heading text
     * @return this page
     */
    public EChartsPage heading(String text) {
        body.append("<h2>").append(escape(text)).append("</h2>\n");
        return this;
    }

    /**
     * Adds a paragraph of plain text (escaped).
     *
     * @param text the text
     * @return this page
     */
    public EChartsPage paragraph(String text) {
        body.append("<p>").append(escape(text)).append("</p>\n");
        return this;
    }

    /**
     * Adds a paragraph of trusted HTML (the caller escapes what it inserts).
     *
     * @param html the HTML
     * @return this page
     */
    public EChartsPage html(String html) {
        body.append(html).append('\n');
        return this;
    }

    /**
     * Adds a table of plain text cells (escaped).
     *
     * @param header the column names
     * @param rows the rows
     * @return this page
     */
    public EChartsPage table(List<String> header, List<List<String>> rows) {
        body.append("<table><tr>");
        header.forEach(h -> body.append("<th>").append(escape(h)).append("</th>"));
        body.append("</tr>\n");
        for (List<String> r : rows) {
            body.append("<tr>");
            r.forEach(c -> body.append("<td>").append(escape(c)).append("</td>"));
            body.append("</tr>\n");
        }
        body.append("</table>\n");
        return this;
    }

    /**
     * Adds a chart.
     *
     * @param id the element id (letters, digits, '-' and '_'), unique in the page
     * @param option the ECharts option (title, axes, series, …)
     * @param heightPx the chart's height in pixels
     * @return this page
     * @throws IllegalArgumentException if the id is not usable
     */
    public EChartsPage chart(String id, ObjectNode option, int heightPx) {
        if (!id.matches("[A-Za-z][A-Za-z0-9_-]*") || charts.stream().anyMatch(c -> c[0].equals(id))) {
            throw new IllegalArgumentException(
                    "chart id must be a unique name of letters, digits, '-' and '_'; got '" + id + "'");
        }
        body.append("<div class=\"chart\" id=\"")
                .append(id)
                .append("\" style=\"height:")
                .append(heightPx)
                .append("px\"></div>\n");
        charts.add(new String[] {id, option.toString()});
        return this;
    }

    /**
     * The ids of the charts added, in page order.
     *
     * @return the ids
     */
    public List<String> chartIds() {
        return charts.stream().map(c -> c[0]).toList();
    }

    /**
     * Renders the page.
     *
     * @return the HTML
     */
    public String render() {
        StringBuilder h = new StringBuilder();
        h.append("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>")
                .append(escape(title))
                .append("</title>\n<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
                        + "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
                        + "h2{margin-top:1.5em}.chart{width:100%;margin:1em 0}</style>\n<script>")
                .append(script())
                .append("</script>\n</head><body>\n")
                .append(body)
                .append("<script>\nvar peft4jCharts = {};\n");
        for (String[] c : charts) {
            h.append("peft4jCharts['")
                    .append(c[0])
                    .append("'] = echarts.init(document.getElementById('")
                    .append(c[0])
                    .append("'), null, {renderer: 'svg'});\npeft4jCharts['")
                    .append(c[0])
                    .append("'].setOption(")
                    .append(scriptSafe(c[1]))
                    .append(");\n");
        }
        h.append("window.addEventListener('resize', function () {"
                        + " Object.values(peft4jCharts).forEach(function (c) { c.resize(); }); });\n")
                .append("</script>\n</body></html>\n");
        return h.toString();
    }

    /**
     * Writes the page atomically (a temporary file moved into place).
     *
     * @param file the HTML file
     * @throws IOException if writing fails; an existing file is then left as it was
     */
    public void write(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // not createTempFile: its file is private to the owner, and a report is for reading
        Path tmp = dir.resolve("." + file.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            Files.writeString(tmp, render(), StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * A line chart option: one series per entry, x and y as given.
     *
     * @param title the chart's title
     * @param xName the x axis name
     * @param yName the y axis name
     * @param logY whether the y axis is logarithmic
     * @param series name to points ({x, y} pairs)
     * @return the option
     */
    public static ObjectNode lineChart(
            String title, String xName, String yName, boolean logY, Map<String, List<double[]>> series) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.putObject("title").put("text", title).putObject("textStyle").put("fontSize", 14);
        o.putObject("tooltip").put("trigger", "axis");
        o.putObject("legend").put("type", "scroll").put("top", 24);
        o.putObject("grid").put("top", 64).put("left", 88).put("right", 24).put("bottom", 48);
        o.putObject("xAxis")
                .put("type", "value")
                .put("name", xName)
                .put("nameLocation", "middle")
                .put("nameGap", 28);
        ObjectNode y = o.putObject("yAxis").put("type", logY ? "log" : "value").put("name", yName);
        y.put("scale", true);
        ArrayNode s = o.putArray("series");
        series.forEach((name, pts) -> {
            // a few points (validations) are drawn as symbols too: a single point has no line to show
            ObjectNode line =
                    s.addObject().put("name", name).put("type", "line").put("showSymbol", pts.size() <= 30);
            ArrayNode data = line.putArray("data");
            for (double[] p : pts) {
                if (Double.isFinite(p[1]) && (!logY || p[1] > 0)) {
                    data.addArray().add(p[0]).add(p[1]);
                }
            }
        });
        return o;
    }

    /**
     * A bar chart option over categories: one series per entry.
     *
     * @param title the chart's title
     * @param categories the x categories
     * @param yName the y axis name
     * @param series name to one value per category
     * @return the option
     */
    public static ObjectNode barChart(
            String title, List<String> categories, String yName, Map<String, double[]> series) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.putObject("title").put("text", title).putObject("textStyle").put("fontSize", 14);
        o.putObject("tooltip").put("trigger", "axis");
        o.putObject("legend").put("top", 24);
        o.putObject("grid").put("top", 64).put("left", 72).put("right", 24).put("bottom", 150);
        ObjectNode x = o.putObject("xAxis").put("type", "category");
        x.putObject("axisLabel").put("rotate", 60).put("fontSize", 9);
        ArrayNode cats = x.putArray("data");
        categories.forEach(cats::add);
        o.putObject("yAxis").put("type", "value").put("name", yName);
        ArrayNode s = o.putArray("series");
        series.forEach((name, values) -> {
            ArrayNode data = s.addObject().put("name", name).put("type", "bar").putArray("data");
            for (double v : values) {
                if (Double.isFinite(v)) {
                    data.add(v);
                } else {
                    data.addNull();
                }
            }
        });
        return o;
    }

    /** The inlined script, read once from the webjar. */
    static String script() {
        String s = script;
        if (s == null) {
            try (InputStream in = EChartsPage.class.getClassLoader().getResourceAsStream(SCRIPT)) {
                if (in == null) {
                    throw new IllegalStateException(SCRIPT + " is not on the classpath: the reports need the"
                            + " org.webjars.npm:echarts:5.3.1 jar (a dependency of peft-train)");
                }
                s = scriptSafe(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            script = s;
        }
        return s;
    }

    /** Keeps a script or JSON from closing the script element early. */
    private static String scriptSafe(String js) {
        return js.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT");
    }

    /**
     * Escapes text for HTML.
     *
     * @param s the text
     * @return the escaped text
     */
    public static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
