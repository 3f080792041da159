package io.github.peft4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * LoRA initializers compared: default (Kaiming A, B = 0), PiSSA, LoRA-GA and EVA on all-MiniLM-L6-v2 + SpamAssassin
 * with the same seed, split, targets, rank budget and optimizer. Reports the training loss (mean of the 10 steps
 * ending at 50, 100 and 200) and the validation loss at those steps, test accuracy, and how long the initializer
 * took. Each run is a separate {@code peft train} process; methods run in turn, repeated {@code rounds} times.
 *
 * <p>Run from the repository root after {@code mvn package}:
 * {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.InitComparison [steps] [rounds]}
 */
public final class InitComparison {

    private InitComparison() {}

    /**
     * Runs the comparison.
     *
     * @param args optional step budget (default 200) and rounds (default 1)
     * @throws Exception if a run fails
     */
    public static void main(String[] args) throws Exception {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        String[] inits = {"default", "pissa", "lora-ga", "eva"};
        int[] marks = {50, 100, steps};
        Map<String, List<double[]>> rows = new TreeMap<>();
        Path root = Files.createTempDirectory("peft4j-inits");
        for (int r = 0; r < rounds; r++) {
            for (String init : inits) {
                Path out = root.resolve(init + "-" + r);
                JsonNode res = TrainRuns.train(
                        init + " (round " + (r + 1) + ")",
                        out,
                        List.of(
                                "--init",
                                init,
                                "--max-steps",
                                Integer.toString(steps),
                                "--eval-every",
                                "50",
                                "--warmup",
                                "0.06"));
                double[] row = new double[2 * marks.length + 2];
                List<JsonNode> metrics = new ArrayList<>();
                for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
                    metrics.add(TrainRuns.JSON.readTree(line));
                }
                for (int i = 0; i < marks.length; i++) {
                    double sum = 0;
                    int n = 0;
                    for (JsonNode m : metrics) {
                        long s = m.get("step").asLong();
                        if (s > marks[i] - 10 && s <= marks[i]) {
                            sum += m.get("loss").asDouble();
                            n++;
                        }
                        if (s == marks[i] && m.has("eval_loss")) {
                            row[marks.length + i] = m.get("eval_loss").asDouble();
                        }
                    }
                    row[i] = sum / n;
                }
                row[2 * marks.length] = res.path("test_accuracy").asDouble();
                row[2 * marks.length + 1] = initSeconds(out.resolveSibling(out.getFileName() + ".log"));
                rows.computeIfAbsent(init, k -> new ArrayList<>()).add(row);
            }
        }
        System.out.printf(
                Locale.ROOT,
                "all-MiniLM-L6-v2 on SpamAssassin (seeded 80/10/10 split), LoRA r=8 alpha=16"
                        + " on query/value, AdamW lr 5e-4, batch 16, max length 128, seed 42, %d steps, %d round(s); %d"
                        + " CPUs%n%n",
                steps,
                rounds,
                Runtime.getRuntime().availableProcessors());
        System.out.printf(
                Locale.ROOT,
                "| init | train loss @%d | @%d | @%d | val loss @%d | @%d | @%d | test acc |" + " init time (s) |%n",
                marks[0],
                marks[1],
                marks[2],
                marks[0],
                marks[1],
                marks[2]);
        System.out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (String init : inits) {
            StringBuilder sb = new StringBuilder("| " + init + " |");
            List<double[]> rs = rows.get(init);
            for (int c = 0; c < rs.get(0).length; c++) {
                List<Double> v = new ArrayList<>();
                for (double[] row : rs) {
                    v.add(row[c]);
                }
                sb.append(' ')
                        .append(TrainRuns.stat(v, c == rs.get(0).length - 1 ? "%.1f" : "%.4f"))
                        .append(" |");
            }
            System.out.println(sb);
        }
    }

    /** The "init NAME: S s" line the CLI prints; 0 for the default init. */
    private static double initSeconds(Path log) throws java.io.IOException {
        for (String line : Files.readAllLines(log)) {
            if (line.startsWith("init ") && line.endsWith(" s")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(':') + 1, line.length() - 2)
                        .strip());
            }
        }
        return 0;
    }
}
