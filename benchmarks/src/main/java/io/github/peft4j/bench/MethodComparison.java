package io.github.peft4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Every method and recipe of {@code peft train} on all-MiniLM-L6-v2 / SpamAssassin with the same budget of optimizer
 * steps, each run its own {@code peft train} process, several seeds: test accuracy mean ± standard deviation [min –
 * max], trainable parameters, adapter (or model) size on disk, median step time and peak RSS, next to full fine-tuning.
 * A difference from LoRA is called within noise when it is smaller than the larger of the two seed ranges.
 *
 * <p>Run from the repository root after {@code mvn package}: {@code java -cp benchmarks/target/benchmarks.jar
 * io.github.peft4j.bench.MethodComparison [steps=100] [seeds=1,2,3] [max-length=64] [only=name,name]}. Each run's
 * {@code results.json} is kept in {@code runs/method-comparison/} and the table is printed and written beside them.
 */
public final class MethodComparison {

    private MethodComparison() {}

    /** A row of the table: a name and the {@code peft train} arguments after the model and data. */
    record Config(String name, List<String> args) {
        static Config of(String name, String... args) {
            return new Config(name, List.of(args));
        }
    }

    static List<Config> configs() {
        return List.of(
                Config.of("full fine-tuning", "--method", "full", "--lr", "5e-5"),
                Config.of("LoRA r=8 (query, value)", "--method", "lora"),
                Config.of("DoRA r=8", "--method", "dora"),
                Config.of("LoHa r=8", "--method", "loha"),
                Config.of("LoKr r=8", "--method", "lokr"),
                Config.of("VeRA r=256", "--method", "vera", "--lr", "5e-3"),
                Config.of("AdaLoRA r 12→8", "--method", "adalora", "--tinit", "10", "--tfinal", "20"),
                Config.of("Hydra r=8", "--method", "hydra"),
                Config.of("DSEE r=8 + 64 sparse", "--method", "dsee"),
                Config.of("Poly r=8, 4 skills (one task)", "--method", "poly"),
                Config.of("IA³", "--method", "ia3", "--lr", "3e-3"),
                Config.of("SSF", "--method", "ssf"),
                Config.of("LayerNorm tuning", "--method", "ln", "--lr", "5e-3"),
                Config.of("bottleneck adapters (Houlsby, k=16)", "--method", "adapter"),
                Config.of("SaRA 10%", "--method", "sara"),
                Config.of("SpIEL 1%", "--method", "spiel"),
                Config.of("LoRA + LoRA+ (λ=16)", "--method", "lora", "--lora-plus-ratio", "16"),
                Config.of("LoRA + LoRA-Pro", "--method", "lora", "--lora-pro"),
                Config.of("LoRA + layer-wise lr decay 0.9", "--method", "lora", "--llrd", "0.9"),
                Config.of("LoRA + LP-FT (20 probe steps)", "--method", "lora", "--lp-steps", "20"),
                Config.of(
                        "full + LISA (2 layers / 20 steps)",
                        "--method",
                        "full",
                        "--lr",
                        "5e-5",
                        "--lisa-layers",
                        "2",
                        "--lisa-period",
                        "20"),
                Config.of("full + freeze bottom 2", "--method", "full", "--lr", "5e-5", "--freeze-bottom", "2"),
                Config.of("full + re-init top 1", "--method", "full", "--lr", "5e-5", "--reinit-top", "1"));
    }

    /**
     * Runs the comparison.
     *
     * @param args steps, seeds, max length, and an optional subset of names (substrings)
     * @throws Exception if a run fails
     */
    public static void main(String[] args) throws Exception {
        String steps = args.length > 0 ? args[0] : "100";
        long[] seeds = Arrays.stream((args.length > 1 ? args[1] : "1,2,3").split(","))
                .mapToLong(Long::parseLong)
                .toArray();
        String maxLength = args.length > 2 ? args[2] : "64";
        List<String> only = args.length > 3 ? List.of(args[3].split(",")) : List.of();
        List<Config> configs = select(configs(), only);
        Map<String, List<ObjectNode>> results = runAll(
                configs,
                Path.of("runs", "method-comparison"),
                List.of("--model", "minilm", "--data", "spam-assassin"),
                List.of("--max-steps", steps, "--eval-every", "0", "--max-length", maxLength),
                seeds);
        Path root = Path.of("runs", "method-comparison");
        String table = table(results, steps, seeds.length, maxLength);
        System.out.print(table);
        Files.writeString(root.resolve("table.md"), table, StandardCharsets.UTF_8);
    }

    /** The configs whose name contains one of {@code only} (all when it is empty). */
    static List<Config> select(List<Config> all, List<String> only) {
        return all.stream()
                .filter(c ->
                        only.isEmpty() || only.stream().anyMatch(o -> c.name().contains(o)))
                .toList();
    }

    /**
     * Runs every config with every seed, each its own {@code peft train} process, seeds outermost (so that a slow
     * stretch of the machine touches every method alike); each run's results.json gains its size on disk and its
     * config's name and is kept as {@code comparison.json}.
     *
     * @param configs the rows
     * @param root where the runs go ({@code NN-sSEED})
     * @param task the model, data and task arguments
     * @param common the arguments every run gets before its config's
     * @param seeds the seeds
     * @return config name to one result per seed
     * @throws Exception if a run fails
     */
    static Map<String, List<ObjectNode>> runAll(
            List<Config> configs, Path root, List<String> task, List<String> common, long[] seeds) throws Exception {
        Files.createDirectories(root);
        Map<String, List<ObjectNode>> results = new LinkedHashMap<>();
        for (long seed : seeds) {
            for (int i = 0; i < configs.size(); i++) {
                Config c = configs.get(i);
                Path out = root.resolve(String.format(Locale.ROOT, "%02d-s%d", i, seed));
                List<String> a = new ArrayList<>(common);
                a.addAll(List.of("--seed", Long.toString(seed)));
                a.addAll(c.args());
                ObjectNode r = TrainRuns.train(c.name() + " (seed " + seed + ")", out, task, a);
                r.put("disk_bytes", diskBytes(out));
                r.put("config", c.name());
                Files.writeString(out.resolve("comparison.json"), TrainRuns.JSON.writeValueAsString(r));
                results.computeIfAbsent(c.name(), k -> new ArrayList<>()).add(r);
            }
        }
        return results;
    }

    /** The bytes of the saved adapter (or model) directory. */
    static long diskBytes(Path run) throws IOException {
        Path dir = Files.isDirectory(run.resolve("adapter")) ? run.resolve("adapter") : run.resolve("model");
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile)
                    .filter(f -> f.getFileName().toString().endsWith(".safetensors")
                            || f.getFileName().toString().endsWith(".json"))
                    .mapToLong(f -> f.toFile().length())
                    .sum();
        }
    }

    static double[] values(List<ObjectNode> rs, String key) {
        return rs.stream().mapToDouble(r -> r.path(key).asDouble(Double.NaN)).toArray();
    }

    static double mean(double[] v) {
        return Arrays.stream(v).average().orElse(Double.NaN);
    }

    static double std(double[] v) {
        double m = mean(v);
        return v.length < 2
                ? 0
                : Math.sqrt(Arrays.stream(v).map(x -> (x - m) * (x - m)).sum() / (v.length - 1));
    }

    static double range(double[] v) {
        return Arrays.stream(v).max().orElse(0) - Arrays.stream(v).min().orElse(0);
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static String table(Map<String, List<ObjectNode>> results, String steps, int seeds, String maxLength) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(
                Locale.ROOT,
                "all-MiniLM-L6-v2 on SpamAssassin (seeded 80/10/10 split, test 604 mails), %s optimizer steps of"
                        + " batch 16, max length %s, %d seeds; %d CPUs%n%n",
                steps,
                maxLength,
                seeds,
                Runtime.getRuntime().availableProcessors()));
        b.append("| method | test accuracy mean ± sd [min – max] | vs LoRA | trainable params | on disk (KiB) |"
                + " step time (s) | peak RSS (MiB) |\n");
        b.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        List<ObjectNode> lora = results.getOrDefault("LoRA r=8 (query, value)", List.of());
        double[] loraAcc = values(lora, "test_accuracy");
        for (Map.Entry<String, List<ObjectNode>> e : results.entrySet()) {
            List<ObjectNode> rs = e.getValue();
            double[] acc = values(rs, "test_accuracy");
            double[] step = rs.stream()
                    .mapToDouble(r ->
                            r.path("train_seconds").asDouble() / r.path("steps").asDouble())
                    .toArray();
            String vs = "";
            if (!lora.isEmpty() && lora != rs) {
                double d = mean(acc) - mean(loraAcc);
                boolean noise = Math.abs(d) <= Math.max(range(acc), range(loraAcc));
                vs = String.format(Locale.ROOT, "%+.4f%s", d, noise ? " (noise)" : "");
            }
            JsonNode first = rs.get(0);
            b.append(String.format(
                    Locale.ROOT,
                    "| %s | %.4f ± %.4f [%.4f – %.4f] | %s | %,d | %,.0f | %.2f | %.0f |%n",
                    e.getKey(),
                    mean(acc),
                    std(acc),
                    Arrays.stream(acc).min().orElse(0),
                    Arrays.stream(acc).max().orElse(0),
                    vs,
                    first.path("trainable_parameters").asLong(),
                    median(values(rs, "disk_bytes")) / 1024,
                    median(step),
                    median(values(rs, "peak_rss_mb"))));
        }
        return b.toString();
    }
}
