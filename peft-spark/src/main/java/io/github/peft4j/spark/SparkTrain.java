package io.github.peft4j.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code peft-spark}: {@code peft train} on N data-parallel replicas, on a local cluster of executor JVMs
 * ({@link LocalCluster}) or on the cluster {@code spark-submit} configures ({@code --master submit}).
 */
@Command(
        name = "peft-spark",
        mixinStandardHelpOptions = true,
        description = "Runs `peft train` data-parallel on Spark: N replicas, gradients averaged every step; the"
                + " arguments after -- are peft train's (--batch-size is the global batch). A failed run resumes"
                + " from its last checkpoint.")
public final class SparkTrain implements Callable<Integer> {

    @Option(names = "--workers", required = true, description = "number of replicas (barrier tasks)")
    private int workers;

    @Option(
            names = "--master",
            defaultValue = "local-cluster",
            description = "local-cluster (N executor JVMs on this machine) or submit (the configuration of"
                    + " spark-submit); default: ${DEFAULT-VALUE}")
    private String master;

    @Option(
            names = "--transport",
            defaultValue = "auto",
            description = "auto, all-gather or ring; default: ${DEFAULT-VALUE}")
    private String transport;

    @Option(
            names = "--executor-memory",
            defaultValue = "1536",
            description = "local cluster: each executor's heap in MiB; default: ${DEFAULT-VALUE}")
    private int executorMemory;

    @Option(names = "--max-attempts", defaultValue = "3", description = "submissions in all; default: ${DEFAULT-VALUE}")
    private int maxAttempts;

    @Parameters(description = "peft train's arguments")
    private List<String> trainArgs = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Transport t;
        try {
            t = Transport.valueOf(transport.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "--transport must be auto, all-gather or ring; got '" + transport + "'", e);
        }
        List<String> args = new ArrayList<>(trainArgs);
        if (!args.isEmpty() && args.get(0).equals("train")) {
            args.remove(0);
        }
        PeftTrainJob job = PeftTrainJob.of(args);
        SparkConf conf;
        if (master.equals("local-cluster")) {
            Path scratch = Files.createTempDirectory("peft4j-spark-");
            conf = LocalCluster.conf(workers, executorMemory, scratch);
        } else if (master.equals("submit")) {
            conf = new SparkConf();
        } else {
            throw new IllegalArgumentException("--master must be local-cluster or submit; got '" + master + "'");
        }
        SparkFineTuner tuner = SparkFineTuner.builder()
                .setWorkers(workers)
                .optTransport(t)
                .optMaxAttempts(maxAttempts)
                .build();
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            sc.setLogLevel("WARN");
            List<ReplicaReport> reports = tuner.run(sc, job);
            System.out.printf(
                    Locale.ROOT,
                    "%d replicas, %s transport%n",
                    workers,
                    reports.get(0).transport());
            for (ReplicaReport r : reports) {
                System.out.printf(
                        Locale.ROOT,
                        "rank %d: %d steps, median %.3f s/step (%.3f s averaging), %,d bytes sent per step; %s%n",
                        r.rank(),
                        r.steps(),
                        r.medianStepSeconds(),
                        r.medianExchangeSeconds(),
                        r.steps() == 0 ? 0 : r.bytesSent() / r.steps(),
                        r.summary());
            }
        }
        return 0;
    }

    /**
     * Runs the command.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new SparkTrain());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("error: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            return 1;
        });
        System.exit(cl.execute(args));
    }
}
