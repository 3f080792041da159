package io.github.peft4j.fuzz;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The long fuzzing campaign: each target ({@link Seeds#targets()}) in a Jazzer process of its own, coverage-guided
 * from the seed corpus, for a number of inputs, with a per-input timeout (a hang is a finding) and a heap limit
 * (on top of {@link Harness}'s per-input allocation bound). Prints per target the inputs run, the time, the coverage
 * reached and the findings; a finding's input is kept in {@code runs/fuzz/<target>/} (Jazzer's {@code crash-*} file)
 * to become a regression test.
 *
 * <p>Run after {@code mvn package}: {@code java -jar peft-reliability/target/peft-reliability-<version>.jar
 * [runs=100000] [target,...]}; targets by simple class name, e.g. {@code SafetensorsTarget}.
 */
public final class FuzzCampaign {

    private static final Pattern DONE = Pattern.compile("Done (\\d+) runs in (\\d+) second");
    private static final Pattern COV = Pattern.compile("cov: (\\d+) ft: (\\d+)");

    private FuzzCampaign() {}

    /**
     * Runs the campaign.
     *
     * @param args the inputs per target, then an optional comma-separated subset of targets
     * @throws Exception if a process cannot be started
     */
    public static void main(String[] args) throws Exception {
        long runs = args.length > 0 ? Long.parseLong(args[0]) : 100_000;
        List<String> only = args.length > 1 ? List.of(args[1].split(",")) : List.of();
        Map<Class<?>, Map<String, byte[]>> seeds = Seeds.all();
        Path root = Path.of("runs", "fuzz");
        StringBuilder table = new StringBuilder(String.format(
                Locale.ROOT,
                "| target | inputs | seconds | inputs/s | coverage (edges / features) | findings |%n"
                        + "| --- | ---: | ---: | ---: | ---: | --- |%n"));
        boolean clean = true;
        for (Class<?> target : Seeds.targets()) {
            if (!only.isEmpty() && !only.contains(target.getSimpleName())) {
                continue;
            }
            Path dir = Files.createDirectories(root.resolve(target.getSimpleName()));
            Path corpus = Files.createDirectories(dir.resolve("corpus"));
            for (Map.Entry<String, byte[]> s : seeds.get(target).entrySet()) {
                Files.write(corpus.resolve("seed-" + s.getKey()), s.getValue());
            }
            Path log = dir.resolve("jazzer.log");
            List<String> cmd = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx2g",
                    "-cp",
                    io.github.peft4j.reliability.ClassPaths.ofThisModule(),
                    "com.code_intelligence.jazzer.Jazzer",
                    "--target_class=" + target.getName(),
                    "--instrumentation_includes=io.github.peft4j.**:com.fasterxml.jackson.**:com.google.protobuf.**"
                            + ":com.hubspot.jinjava.**:ai.djl.huggingface.**",
                    // target_modules is a regex by design (Python PEFT's semantics); ModuleSelector bounds its matching
                    "--disabled_hooks=com.code_intelligence.jazzer.sanitizers.RegexInjection",
                    "-runs=" + runs,
                    "-timeout=20",
                    "-max_len=65536",
                    // mutate whole files from the start (the seeds are up to 40 KB), not inputs grown from 4 bytes
                    "-len_control=0",
                    "-rss_limit_mb=6144",
                    "-print_final_stats=1",
                    "-artifact_prefix=" + dir.toAbsolutePath() + File.separator,
                    "--reproducer_path=" + dir.toAbsolutePath(),
                    corpus.toAbsolutePath().toString()));
            System.err.println("fuzzing " + target.getSimpleName() + " for " + runs + " inputs; log " + log);
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            int code = p.waitFor();
            double seconds = (System.nanoTime() - t0) / 1e9;
            String out = Files.readString(log, StandardCharsets.UTF_8);
            Matcher done = DONE.matcher(out);
            long ran = done.find() ? Long.parseLong(done.group(1)) : -1;
            String cov = "";
            Matcher c = COV.matcher(out);
            while (c.find()) {
                cov = c.group(1) + " / " + c.group(2);
            }
            List<String> findings = new ArrayList<>();
            try (var files = Files.list(dir)) {
                files.filter(f -> f.getFileName().toString().matches("(crash|timeout|oom|leak)-.*"))
                        .forEach(f -> findings.add(f.getFileName().toString()));
            }
            boolean ok = code == 0 && findings.isEmpty() && ran >= runs;
            clean &= ok;
            table.append(String.format(
                    Locale.ROOT,
                    "| %s | %,d | %.0f | %,.0f | %s | %s |%n",
                    target.getSimpleName(),
                    ran,
                    seconds,
                    ran / seconds,
                    cov,
                    ok ? "none" : "exit " + code + " " + findings));
        }
        System.out.print(table);
        Files.writeString(root.resolve("table.md"), table.toString(), StandardCharsets.UTF_8);
        if (!clean) {
            System.exit(1);
        }
    }
}
