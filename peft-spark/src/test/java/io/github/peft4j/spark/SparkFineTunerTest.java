package io.github.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.models.bert.MiniLm;
import io.github.peft4j.testing.TinyBert;
import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel {@code peft train} on local clusters of executor JVMs: 2 and 4 replicas (all-gather and ring) end
 * where one replica with the whole batch ends, and a run whose executor is killed with SIGKILL resumes to the
 * uninterrupted run's adapter.
 */
class SparkFineTunerTest {

    private static final int STEPS = 20;

    @TempDir
    static Path dir;

    @BeforeAll
    static void data() throws IOException {
        TinyBert.writeDirectory(dir.resolve("tiny-bert"), MiniLm.directory().resolve("tokenizer.json"));
        // texts of different lengths, so that a rank's share pads shorter than the whole batch unless padded as one
        TinyBert.writeMailCsv(dir.resolve("mail.csv"), 6);
    }

    private static List<String> args(Path out) {
        return List.of(
                "--model",
                dir.resolve("tiny-bert").toString(),
                "--data",
                dir.resolve("mail.csv").toString(),
                "--output",
                out.toString(),
                "--max-length",
                "24",
                "--batch-size",
                "8",
                "--max-steps",
                Integer.toString(STEPS),
                "--eval-every",
                "0",
                "--checkpoint-every",
                "2",
                "--lr",
                "3e-2",
                "--no-progress");
    }

    private static List<ReplicaReport> train(int workers, Transport transport, Path out) throws IOException {
        try (JavaSparkContext sc = new JavaSparkContext(LocalCluster.conf(workers, 768, dir.resolve("spark")))) {
            return SparkFineTuner.builder()
                    .setWorkers(workers)
                    .optTransport(transport)
                    .build()
                    .run(sc, PeftTrainJob.of(args(out)));
        }
    }

    private static long adapterValues(Path run) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            return Safetensors.read(run.resolve("adapter/adapter_model.safetensors"), m).tensors().values().stream()
                    .mapToLong(NDArray::size)
                    .sum();
        }
    }

    private static double maxDifference(Path a, Path b) throws IOException {
        return ScalingBenchmark.maxDifference(a, b);
    }

    @Test
    void twoAndFourReplicasEndWhereOneEnds() throws IOException {
        Path one = dir.resolve("one");
        List<ReplicaReport> r1 = train(1, Transport.AUTO, one);
        assertEquals(STEPS, r1.get(0).steps());
        assertEquals("ring", r1.get(0).transport()); // AUTO: the ring (of one: nothing to send)
        Path twoGather = dir.resolve("two-gather");
        List<ReplicaReport> r2 = train(2, Transport.ALL_GATHER, twoGather);
        Path twoRing = dir.resolve("two-ring");
        List<ReplicaReport> r2r = train(2, Transport.AUTO, twoRing);
        assertEquals("ring", r2r.get(0).transport());
        Path fourRing = dir.resolve("four-ring");
        List<ReplicaReport> r4 = train(4, Transport.RING, fourRing);

        assertEquals(2, r2.size());
        assertEquals(List.of(0, 1, 2, 3), r4.stream().map(ReplicaReport::rank).toList());
        assertTrue(r4.stream().allMatch(r -> r.steps() == STEPS && r.transport().equals("ring")), r4.toString());
        double d2 = maxDifference(one, twoGather);
        double d2r = maxDifference(one, twoRing);
        double d4 = maxDifference(one, fourRing);
        System.out.printf(
                "max |Δ| vs one replica after %d steps: 2 all-gather %.3g, 2 ring %.3g, 4 ring %.3g%n",
                STEPS, d2, d2r, d4);
        assertTrue(d2 <= 1e-5 && d2r <= 1e-5 && d4 <= 1e-5, "max |Δ| vs one replica: " + d2 + ", " + d2r + ", " + d4);
        // the adapter moved: the comparison is not between two untrained adapters
        assertTrue(Files.isRegularFile(one.resolve("checkpoint/trainer_state.json")));
        // only rank 0 wrote metrics: one line per step
        assertEquals(
                STEPS, Files.readAllLines(fourRing.resolve("metrics.jsonl")).size());
        // bytes per step and replica: every trainable value (the adapter file's) and the loss, as float32; all-gather
        // sends them as Base64 text, a ring of 2 sends each half once in each phase
        long values = adapterValues(one) + 1;
        assertEquals(4 * ((values * 4 + 2) / 3), r2.get(0).bytesSent() / STEPS);
        assertEquals(2 * 4 * ((values * 4 + 2) / 3), r2.get(0).bytesReceived() / STEPS);
        assertEquals(values * 4, r2r.get(0).bytesSent() / STEPS);
        assertEquals(values * 4, r2r.get(1).bytesReceived() / STEPS);
    }

    /** Whether a process is a Spark executor (its command line, read whole: the JDK's stops at 4 KiB). */
    private static boolean isExecutor(ProcessHandle p) {
        try {
            return new String(
                            Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "cmdline")),
                            StandardCharsets.UTF_8)
                    .contains("CoarseGrainedExecutorBackend");
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void aDecoderOnTwoReplicasEndsWhereOneEnds() throws IOException {
        // chats and prompt/completion pairs: shares of a batch hold different numbers of counted tokens, which the
        // replicas' losses are weighted by, so that their mean is the whole batch's mean over tokens
        Path llama = TinyDecoders.copy("llama", dir.resolve("decoder")).resolve("base");
        Path jsonl = dir.resolve("decoder/data.jsonl");
        TinyDecoders.writeLabelJsonl(jsonl);
        List<Path> outs = new ArrayList<>();
        for (int n : new int[] {1, 2}) {
            Path out = dir.resolve("decoder/n" + n);
            outs.add(out);
            List<String> a = List.of(
                    "--task",
                    "causal-lm",
                    "--model",
                    llama.toString(),
                    "--data",
                    jsonl.toString(),
                    "--batch-size",
                    "8",
                    "--lr",
                    "1e-2",
                    "--max-steps",
                    Integer.toString(STEPS),
                    "--eval-every",
                    "0",
                    "--seed",
                    "3",
                    "--no-progress",
                    "--output",
                    out.toString());
            try (JavaSparkContext sc = new JavaSparkContext(LocalCluster.conf(n, 768, dir.resolve("spark")))) {
                SparkFineTuner.builder().setWorkers(n).build().run(sc, PeftTrainJob.of(a));
            }
        }
        double d = maxDifference(outs.get(0), outs.get(1));
        System.out.printf("decoder: max |Δ| of 2 replicas vs one after %d steps: %.3g%n", STEPS, d);
        assertTrue(d <= 1e-5, "max |Δ| " + d);
        assertTrue(Files.isRegularFile(outs.get(1).resolve("adapter/tokenizer.json")));
    }

    @Test
    void aKilledExecutorResumesToTheUninterruptedAdapter() throws Exception {
        Path whole = dir.resolve("uninterrupted");
        train(2, Transport.RING, whole);
        Path killed = dir.resolve("killed");
        AtomicBoolean done = new AtomicBoolean();
        List<Long> victims = new ArrayList<>();
        Thread killer = new Thread(() -> {
            while (!done.get() && victims.isEmpty()) {
                try {
                    Path state = killed.resolve("checkpoint/trainer_state.json");
                    if (Files.isRegularFile(state)
                            && Json.MAPPER.readTree(state.toFile()).path("step").asLong() >= 8) {
                        Optional<ProcessHandle> executor = ProcessHandle.current()
                                .descendants()
                                .filter(SparkFineTunerTest::isExecutor)
                                .findFirst();
                        if (executor.isPresent()) {
                            victims.add(executor.get().pid());
                            executor.get().destroyForcibly(); // SIGKILL
                        }
                    }
                    Thread.sleep(20);
                } catch (IOException e) {
                    // the checkpoint was being replaced: look again
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        killer.start();
        List<ReplicaReport> reports;
        try {
            reports = train(2, Transport.RING, killed);
        } finally {
            done.set(true);
            killer.join();
        }
        assertEquals(1, victims.size(), "no executor was killed");
        assertTrue(
                reports.get(0).summary().contains("resumed from"),
                "the run did not resume: " + Arrays.toString(reports.toArray()));
        assertEquals(0.0, maxDifference(whole, killed), "the resumed run's adapter differs from the uninterrupted");
    }

    @Test
    void aBatchThatDoesNotSplitEvenlyIsRefusedWithoutRetrying() throws IOException {
        List<String> a = new ArrayList<>(args(dir.resolve("odd")));
        a.set(a.indexOf("--batch-size") + 1, "7");
        try (JavaSparkContext sc = new JavaSparkContext(LocalCluster.conf(2, 768, dir.resolve("spark")))) {
            IllegalStateException e = assertThrows(
                    IllegalStateException.class,
                    () -> SparkFineTuner.builder().setWorkers(2).build().run(sc, PeftTrainJob.of(a)));
            assertTrue(e.getMessage().contains("must be a multiple of 2"), e.getMessage());
            assertFalse(e.getMessage().contains("attempt(s)"), e.getMessage());
        }
    }
}
