package io.github.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTML pages a person reads, rendered in headless Chromium: every chart of the training report and of
 * {@code peft diagnose} must have been drawn by ECharts (an SVG inside its element) from the inlined script, offline.
 * Runs where a Chromium is installed (CI installs one and sets {@code PEFT4J_BROWSER_TESTS=required}, which turns a
 * missing browser into a failure).
 */
class ReportsRenderTest {

    private static final Pattern CHART = Pattern.compile("<div class=\"chart\" id=\"([A-Za-z0-9_-]+)\"");

    @TempDir
    static Path tmp;

    static Path run;
    static Path diagnose;

    @BeforeAll
    static void trainAndDiagnose() throws IOException {
        TrainCliTest.tmp = tmp; // the tiny model and mail CSV of the CLI tests, written here
        TrainCliTest.writeDataAndModel();
        run = tmp.resolve("render-run");
        CliRun t = CliRun.of(TrainCliTest.train(run, "--max-steps", "12", "--eval-every", "4"));
        assertEquals(0, t.code(), t.err() + t.out());
        diagnose = tmp.resolve("render-diagnose.html");
        CliRun d = CliRun.of(
                "diagnose",
                run.toString(),
                "--base",
                TrainCliTest.tiny.toString(),
                "--output",
                diagnose.toString(),
                "--reduce-intruders",
                tmp.resolve("render-reduced").toString());
        assertEquals(0, d.code(), d.err() + d.out());
        assertTrue(d.out().contains(": 4 layers, "), d.out()); // query and value of the tiny model's 2 layers
    }

    private static Path chromium() {
        List<String> candidates = new ArrayList<>();
        String env = System.getenv("PEFT4J_CHROMIUM");
        if (env != null) {
            candidates.add(env);
        }
        candidates.addAll(List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"));
        for (String c : candidates) {
            if (Files.isExecutable(Path.of(c))) {
                return Path.of(c);
            }
        }
        if ("required".equals(System.getenv("PEFT4J_BROWSER_TESTS"))) {
            fail("PEFT4J_BROWSER_TESTS=required but no Chromium found (looked at " + candidates + ")");
        }
        Assumptions.assumeTrue(false, "no Chromium installed: the pages are not rendered here");
        return null;
    }

    /** The DOM after the page's scripts ran, from Chromium's --dump-dom. */
    private static String render(Path page) throws IOException, InterruptedException {
        Path browser = chromium();
        Path profile = Files.createTempDirectory("peft4j-chromium");
        Path out = Files.createTempFile("peft4j-dom", ".html");
        Process p = new ProcessBuilder(
                        browser.toString(),
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--user-data-dir=" + profile,
                        "--virtual-time-budget=10000",
                        "--dump-dom",
                        page.toUri().toString())
                .redirectOutput(out.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "Chromium did not finish rendering " + page);
        assertEquals(0, p.exitValue(), "Chromium failed on " + page);
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    /** Every chart element of the page holds an SVG after rendering. */
    private static void assertChartsDrawn(Path page, List<String> expected) throws Exception {
        String source = Files.readString(page, StandardCharsets.UTF_8);
        assertTrue(!source.contains("<script src="), "the page must not load scripts from elsewhere");
        List<String> ids = new ArrayList<>();
        Matcher m = CHART.matcher(source);
        while (m.find()) {
            ids.add(m.group(1));
        }
        assertTrue(ids.containsAll(expected), "charts " + ids + " lack some of " + expected);
        String dom = render(page);
        for (String id : ids) {
            int at = dom.indexOf("id=\"" + id + "\"");
            assertTrue(at >= 0, "chart " + id + " missing from the rendered page");
            int next = dom.indexOf("<div class=\"chart\"", at + 1);
            String element = dom.substring(at, next < 0 ? dom.length() : next);
            assertTrue(element.contains("_echarts_instance_"), "ECharts did not take chart " + id);
            assertTrue(element.contains("<svg"), "chart " + id + " was not drawn");
            assertTrue(element.contains("<path") || element.contains("<polyline"), "chart " + id + " is empty");
        }
    }

    @Test
    void theTrainingReportDrawsItsCharts() throws Exception {
        assertChartsDrawn(run.resolve("report.html"), List.of("loss", "accuracy", "lr", "throughput", "rss"));
    }

    @Test
    void theDiagnosticsPageDrawsItsCharts() throws Exception {
        assertChartsDrawn(diagnose, List.of("intruders", "relative-norm", "effective-rank", "spectra-0"));
    }
}
