package io.github.peft4j.spark;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkConf;

/**
 * A Spark configuration for {@code local-cluster[N, 1, memory]}: N executors in JVMs of their own on this machine,
 * each a replica (DJL records gradients for one thread per JVM, so replicas cannot share one), started from a plain
 * {@code java} process without a Spark installation, as Spark's own test suites start it. For trying the
 * data-parallel path and for tests; a real cluster is configured by {@code spark-submit}.
 *
 * <p>What it sets: a Spark home of its own under {@code scratch} (empty {@code jars/}: the executors get this JVM's
 * class path, made absolute, as {@code spark.executor.extraClassPath}), the {@code spark.testing} and
 * {@code spark.test.home} system properties the standalone worker reads it from, the executors' environment
 * ({@code DJL_OFFLINE}, libtorch's threads: the cores shared evenly, MKL's reproducible kernels) and the
 * {@code peft4j.cache} property. The driver JVM needs the {@code --add-opens} options Spark needs on Java 17
 * ({@code bin/peft-spark} passes them).
 */
public final class LocalCluster {

    private LocalCluster() {}

    /**
     * Builds the configuration.
     *
     * @param workers the number of executors (replicas)
     * @param executorMemoryMb each executor's heap (tensors live outside it)
     * @param scratch where the Spark home and the executors' work directories go (created)
     * @return the configuration, to give a {@code JavaSparkContext}
     * @throws IOException if the scratch directory cannot be created
     */
    public static SparkConf conf(int workers, int executorMemoryMb, Path scratch) throws IOException {
        if (workers < 1) {
            throw new IllegalArgumentException("a local cluster needs at least 1 worker; got " + workers);
        }
        Path home = scratch.toAbsolutePath().resolve("spark-home");
        Files.createDirectories(home.resolve("jars"));
        System.setProperty("spark.testing", "true");
        System.setProperty("spark.test.home", home.toString());
        List<String> cp = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!e.isEmpty()) {
                cp.add(Path.of(e).toAbsolutePath().normalize().toString());
            }
        }
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
        StringBuilder javaOptions = new StringBuilder("-Dai.djl.offline=true -XX:+UseSerialGC");
        String cache = System.getProperty("peft4j.cache");
        if (cache != null) {
            javaOptions.append(" -Dpeft4j.cache=").append(Path.of(cache).toAbsolutePath());
        }
        return new SparkConf()
                .setMaster("local-cluster[" + workers + ",1," + executorMemoryMb + "]")
                .setAppName("peft4j")
                .set("spark.executor.memory", executorMemoryMb + "m")
                .set("spark.executor.extraClassPath", String.join(File.pathSeparator, cp))
                .set("spark.executor.extraJavaOptions", javaOptions.toString())
                .set("spark.executorEnv.SPARK_SCALA_VERSION", "2.13")
                .set("spark.executorEnv.DJL_OFFLINE", "true")
                .set("spark.executorEnv.OMP_NUM_THREADS", Integer.toString(threads))
                .set("spark.executorEnv.MKL_CBWR", "AUTO")
                .set("spark.executorEnv.MKL_DYNAMIC", "FALSE")
                .set("spark.executorEnv.OPENBLAS_CORETYPE", "Haswell")
                .set("spark.executorEnv.MALLOC_ARENA_MAX", "2")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.ui.enabled", "false")
                .set("spark.task.cpus", "1");
    }
}
