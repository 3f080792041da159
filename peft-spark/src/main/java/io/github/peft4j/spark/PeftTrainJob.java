package io.github.peft4j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.io.AtomicDirectory;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.examples.cli.TrainCommand;
import io.github.peft4j.train.Checkpoint;
import io.github.peft4j.train.DataParallel;
import io.github.peft4j.train.FineTuner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A {@link ReplicaJob} that runs {@code peft train} with the same arguments on every replica
 * ({@link TrainCommand#runReplica}); a retried attempt resumes from the run's last checkpoint
 * ({@code --output}/checkpoint) when there is one.
 *
 * @param args the arguments of {@code peft train} (without {@code train}), paths absolute ({@link #of})
 */
public record PeftTrainJob(List<String> args) implements ReplicaJob {

    private static final long serialVersionUID = 1L;

    /** Options whose value names a file or directory. */
    private static final Set<String> PATH_OPTIONS = Set.of("--model", "--data", "--output", "--resume");

    /** Copies the arguments. */
    public PeftTrainJob {
        args = List.copyOf(args);
        if (output(args) == null) {
            throw new IllegalArgumentException("peft train on Spark needs --output: rank 0 writes the run there and"
                    + " a retried run resumes from its checkpoint");
        }
    }

    /**
     * Builds the job from {@code peft train} arguments given on the driver: paths that exist here, and
     * {@code --output}, are made absolute, so that executors, which run in directories of their own, find them.
     *
     * @param args the arguments (without {@code train})
     * @return the job
     */
    public static PeftTrainJob of(List<String> args) {
        List<String> a = new ArrayList<>(args);
        for (int i = 0; i + 1 < a.size(); i++) {
            if (PATH_OPTIONS.contains(a.get(i))) {
                Path p = Path.of(a.get(i + 1));
                if (a.get(i).equals("--output") || Files.exists(p)) {
                    a.set(i + 1, p.toAbsolutePath().normalize().toString());
                }
            }
        }
        return new PeftTrainJob(a);
    }

    private static Path output(List<String> args) {
        int i = args.indexOf("--output");
        return i < 0 || i + 1 >= args.size() ? null : Path.of(args.get(i + 1));
    }

    @Override
    public String run(DataParallel dataParallel, int attempt) throws IOException {
        List<String> a = new ArrayList<>(args);
        Path checkpoint = output(a).resolve(FineTuner.CHECKPOINT);
        int given = a.indexOf("--resume");
        if (attempt > 0 || given >= 0) {
            // a checkpoint may hold what a killed write left: rank 0 alone repairs it before any replica reads it
            if (dataParallel.rank() == 0) {
                AtomicDirectory.recover(checkpoint);
                if (given >= 0) {
                    AtomicDirectory.recover(Path.of(a.get(given + 1)));
                }
            }
            dataParallel.barrier();
        }
        boolean resumed = attempt > 0 && Files.isRegularFile(checkpoint.resolve(Checkpoint.STATE));
        if (resumed) {
            if (given >= 0) {
                a.subList(given, given + 2).clear();
            }
            a.add("--resume");
            a.add(checkpoint.toString());
        }
        long t0 = System.nanoTime();
        int code = TrainCommand.runReplica(a.toArray(String[]::new), dataParallel);
        if (code != 0) {
            throw new IllegalStateException("peft train on replica " + dataParallel.rank() + " exited with " + code);
        }
        String done = String.format(
                Locale.ROOT,
                "attempt %d%s, %.1f s",
                attempt,
                resumed ? " resumed from " + checkpoint : "",
                (System.nanoTime() - t0) / 1e9);
        Path results = output(a).resolve("results.json");
        if (dataParallel.rank() == 0 && Files.isRegularFile(results)) {
            JsonNode r = Json.MAPPER.readTree(results.toFile());
            if (r.has("test_accuracy")) {
                done += String.format(
                        Locale.ROOT,
                        "; test accuracy %.4f, macro-F1 %.4f",
                        r.get("test_accuracy").asDouble(),
                        r.get("test_macro_f1").asDouble());
            }
            done += "; saved to " + output(a);
        }
        return done;
    }
}
