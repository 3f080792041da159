package io.github.peft4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * LoRA (r=8, query/value) vs LoRA (all linear layers) vs full fine-tuning of all-MiniLM-L6-v2 on the SpamAssassin
 * split, with the same seed and step budget: test accuracy, wall time, trainable parameters, peak RSS. Each run is a
 * separate {@code peft train} process (so peak RSS is the run's own); the three methods run in turn, repeated
 * {@code rounds} times alternating, and the table shows median [min – max] per method.
 *
 * <p>Run from the repository root after {@code mvn package}:
 * {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.TrainingComparison [steps] [rounds]}
 */
public final class TrainingComparison {

    private TrainingComparison() {}

    /**
     * Runs the comparison.
     *
     * @param args optional step budget (default 150) and rounds (default 1)
     * @throws Exception if a run fails
     */
    public static void main(String[] args) throws Exception {
        String steps = args.length > 0 ? args[0] : "150";
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        String[][] methods = {
            {"LoRA r=8 query/value", "--method", "lora", "--targets", "query,value"},
            {"LoRA r=8 all-linear", "--method", "lora", "--targets", "all-linear"},
            {"full fine-tuning", "--method", "full"},
        };
        List<List<JsonNode>> results = new ArrayList<>();
        for (int i = 0; i < methods.length; i++) {
            results.add(new ArrayList<>());
        }
        ObjectMapper json = new ObjectMapper();
        Path root = Files.createTempDirectory("peft4j-compare");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int r = 0; r < rounds; r++) {
            for (int m = 0; m < methods.length; m++) {
                Path out = root.resolve("run-" + r + "-" + m);
                List<String> cmd = new ArrayList<>(List.of(java, "-jar", "peft-examples/target/peft.jar", "train",
                        "--model", "minilm", "--data", "spam-assassin", "--max-steps", steps, "--eval-every", "0",
                        "--checkpoint-every", "0", "--no-progress", "--output", out.toString()));
                for (int k = 1; k < methods[m].length; k++) {
                    cmd.add(methods[m][k]);
                }
                System.err.println("running " + methods[m][0] + " (round " + (r + 1) + ")");
                long t0 = System.nanoTime();
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(out.resolveSibling(out.getFileName() + ".log").toFile()).start();
                if (p.waitFor() != 0) {
                    throw new IllegalStateException(methods[m][0] + " failed; see " + out + ".log");
                }
                JsonNode res = json.readTree(new File(out.resolve("results.json").toString()));
                ((com.fasterxml.jackson.databind.node.ObjectNode) res).put("wall_seconds",
                        (System.nanoTime() - t0) / 1e9);
                results.get(m).add(res);
            }
        }
        System.out.printf(Locale.ROOT, "all-MiniLM-L6-v2 on SpamAssassin (seeded 80/10/10 split, test 604 mails),"
                + " %s optimizer steps of batch 16, max length 128, %d round(s); %d CPUs%n%n", steps, rounds,
                Runtime.getRuntime().availableProcessors());
        System.out.println("| method | trainable params | test accuracy | test macro-F1 | train time (s) | process"
                + " wall time (s) | peak RSS (MiB) |");
        System.out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (int m = 0; m < methods.length; m++) {
            List<JsonNode> rs = results.get(m);
            System.out.printf(Locale.ROOT, "| %s | %,d | %s | %s | %s | %s | %s |%n", methods[m][0],
                    rs.get(0).get("trainable_parameters").asLong(), stat(rs, "test_accuracy", "%.4f"),
                    stat(rs, "test_macro_f1", "%.4f"), stat(rs, "train_seconds", "%.0f"),
                    stat(rs, "wall_seconds", "%.0f"), stat(rs, "peak_rss_mb", "%.0f"));
        }
    }

    private static String stat(List<JsonNode> rs, String key, String fmt) {
        List<Double> v = new ArrayList<>();
        rs.forEach(r -> v.add(r.path(key).asDouble(Double.NaN)));
        v.sort(null);
        double med = v.size() % 2 == 1 ? v.get(v.size() / 2) : (v.get(v.size() / 2 - 1) + v.get(v.size() / 2)) / 2;
        if (v.size() == 1) {
            return String.format(Locale.ROOT, fmt, med);
        }
        return String.format(Locale.ROOT, fmt + " [" + fmt + " – " + fmt + "]", med, v.get(0), v.get(v.size() - 1));
    }
}
