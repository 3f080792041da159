package io.github.peft4j.spark;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.peft4j.core.io.Safetensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The scaling benchmark of docs/scale-out.md: one {@code peft train} job on local clusters of 1, 2, 4... executor
 * JVMs in turn, with each run's step time (median, min, max over its steps, from every replica), the bytes each
 * replica moved per step, and the largest difference of its adapter from the first run's.
 *
 * <pre>
 * java --add-opens ... -cp peft-spark/target/peft-spark-0.1.0-SNAPSHOT.jar io.github.peft4j.spark.ScalingBenchmark \
 *     1,2,4 auto 1536 -- --model minilm --data spam-assassin --max-steps 20 --eval-every 0 --output runs/scale
 * </pre>
 */
public final class ScalingBenchmark {

    private ScalingBenchmark() {}

    /**
     * Runs the benchmark.
     *
     * @param args workers (comma-separated), transport (auto, all-gather, ring), executor heap in MiB, {@code --},
     *     then {@code peft train}'s arguments, whose {@code --output} is the prefix of every run's directory
     * @throws IOException if a run's files cannot be read
     */
    public static void main(String[] args) throws IOException {
        int dash = Arrays.asList(args).indexOf("--");
        if (dash != 3) {
            System.err.println("usage: ScalingBenchmark WORKERS,.. auto|all-gather|ring HEAP_MIB -- PEFT_TRAIN_ARGS");
            System.exit(2);
        }
        int[] workers =
                Arrays.stream(args[0].split(",")).mapToInt(Integer::parseInt).toArray();
        Transport transport = Transport.valueOf(args[1].toUpperCase(Locale.ROOT).replace('-', '_'));
        int heap = Integer.parseInt(args[2]);
        List<String> train = List.of(Arrays.copyOfRange(args, 4, args.length));
        int o = train.indexOf("--output");
        Path base = Path.of(train.get(o + 1)).toAbsolutePath();
        Path scratch = Files.createTempDirectory("peft4j-scaling-");
        System.out.printf(
                Locale.ROOT,
                "%d cores, %s%n| replicas | transport | step s, median (min–max) | averaging s/step (median)"
                        + " | sent/step/replica | received/step/replica | max abs diff vs %d |%n"
                        + "|---|---|---|---|---|---|---|%n",
                Runtime.getRuntime().availableProcessors(),
                String.join(" ", train),
                workers[0]);
        Path first = null;
        for (int n : workers) {
            Path out = base.resolveSibling(base.getFileName() + "-n" + n);
            List<String> a = new ArrayList<>(train);
            a.set(o + 1, out.toString());
            SparkFineTuner tuner = SparkFineTuner.builder()
                    .setWorkers(n)
                    .optTransport(transport)
                    .optMaxAttempts(1)
                    .build();
            List<ReplicaReport> reports;
            try (JavaSparkContext sc = new JavaSparkContext(LocalCluster.conf(n, heap, scratch))) {
                sc.setLogLevel("WARN");
                reports = tuner.run(sc, PeftTrainJob.of(a));
            }
            double[] median = reports.stream()
                    .mapToDouble(ReplicaReport::medianStepSeconds)
                    .sorted()
                    .toArray();
            double min = reports.stream()
                    .mapToDouble(ReplicaReport::minStepSeconds)
                    .min()
                    .orElse(0);
            double max = reports.stream()
                    .mapToDouble(ReplicaReport::maxStepSeconds)
                    .max()
                    .orElse(0);
            double exchange = reports.stream()
                    .mapToDouble(ReplicaReport::medianExchangeSeconds)
                    .max()
                    .orElse(0);
            ReplicaReport r0 = reports.get(0);
            String diff = first == null ? "—" : String.format(Locale.ROOT, "%.2e", maxDifference(first, out));
            if (first == null) {
                first = out;
            }
            System.out.printf(
                    Locale.ROOT,
                    "| %d | %s | %.3f (%.3f–%.3f) | %.4f | %,d B | %,d B | %s |%n",
                    n,
                    reports.get(0).transport(),
                    median[median.length / 2],
                    min,
                    max,
                    exchange,
                    r0.steps() == 0 ? 0 : r0.bytesSent() / r0.steps(),
                    r0.steps() == 0 ? 0 : r0.bytesReceived() / r0.steps(),
                    diff);
        }
    }

    /** The largest difference between two runs' adapter tensors. */
    static double maxDifference(Path a, Path b) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> x = Safetensors.read(a.resolve("adapter/adapter_model.safetensors"), m)
                    .tensors();
            Map<String, NDArray> y = Safetensors.read(b.resolve("adapter/adapter_model.safetensors"), m)
                    .tensors();
            if (!x.keySet().equals(y.keySet())) {
                throw new IllegalStateException(
                        "the adapters hold different tensors: " + x.keySet() + " and " + y.keySet());
            }
            double max = 0;
            for (String k : x.keySet()) {
                max = Math.max(max, x.get(k).sub(y.get(k)).abs().max().getFloat());
            }
            return max;
        }
    }
}
