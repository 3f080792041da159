package io.github.peft4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * LoRA (r=8, query/value) vs LoRA (all linear layers) vs full fine-tuning vs SaRA (10% of every encoder linear
 * weight; SDDMM and dense-then-gather gradients) of all-MiniLM-L6-v2 on the SpamAssassin split, with the same seed and
 * step budget: test accuracy, step time, trainable parameters, AdamW state, peak RSS. Each run is a
 * separate {@code peft train} process (so peak RSS is the run's own); the three methods run in turn, repeated
 * {@code rounds} times alternating, and the table shows median [min – max] per method.
 *
 * <p>Run from the repository root after {@code mvn package}:
 * {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.TrainingComparison [steps] [rounds]
 * [methods, e.g. 0,2,3]}
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
            {"SaRA 10% all-linear (SDDMM)", "--method", "sara", "--sara-fraction", "0.1", "--sparse-gradient", "sddmm"},
            {
                "SaRA 10% all-linear (dense+gather)",
                "--method",
                "sara",
                "--sara-fraction",
                "0.1",
                "--sparse-gradient",
                "dense"
            },
        };
        if (args.length > 2) {
            // a subset by index, e.g. "0,2,3"
            String[][] all = methods;
            methods = java.util.Arrays.stream(args[2].split(","))
                    .mapToInt(Integer::parseInt)
                    .mapToObj(i -> all[i])
                    .toArray(String[][]::new);
        }
        List<List<JsonNode>> results = new ArrayList<>();
        for (int i = 0; i < methods.length; i++) {
            results.add(new ArrayList<>());
        }
        Path root = Files.createTempDirectory("peft4j-compare");
        for (int r = 0; r < rounds; r++) {
            for (int m = 0; m < methods.length; m++) {
                List<String> extra = new ArrayList<>(List.of("--max-steps", steps, "--eval-every", "0"));
                extra.addAll(List.of(methods[m]).subList(1, methods[m].length));
                results.get(m)
                        .add(TrainRuns.train(
                                methods[m][0] + " (round " + (r + 1) + ")", root.resolve("run-" + r + "-" + m), extra));
            }
        }
        System.out.printf(
                Locale.ROOT,
                "all-MiniLM-L6-v2 on SpamAssassin (seeded 80/10/10 split, test 604 mails),"
                        + " %s optimizer steps of batch 16, max length 128, %d round(s); %d CPUs%n%n",
                steps,
                rounds,
                Runtime.getRuntime().availableProcessors());
        System.out.println("| method | trainable params | optimizer state (MiB) | test accuracy | test macro-F1 |"
                + " step time (s) | train time (s) | process wall time (s) | peak RSS (MiB) |");
        System.out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (int m = 0; m < methods.length; m++) {
            List<JsonNode> rs = results.get(m);
            long trainable = rs.get(0).get("trainable_parameters").asLong();
            List<Double> stepTimes = new ArrayList<>();
            rs.forEach(r -> stepTimes.add(
                    r.get("train_seconds").asDouble() / r.get("steps").asDouble()));
            // AdamW keeps two float32 moments per trainable value
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %,d | %.2f | %s | %s | %s | %s | %s | %s |%n",
                    methods[m][0],
                    trainable,
                    trainable * 8 / 1048576.0,
                    stat(rs, "test_accuracy", "%.4f"),
                    stat(rs, "test_macro_f1", "%.4f"),
                    TrainRuns.stat(stepTimes, "%.2f"),
                    stat(rs, "train_seconds", "%.0f"),
                    stat(rs, "wall_seconds", "%.0f"),
                    stat(rs, "peak_rss_mb", "%.0f"));
        }
    }

    private static String stat(List<JsonNode> rs, String key, String fmt) {
        return TrainRuns.stat(rs, key, fmt);
    }
}
