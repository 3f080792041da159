package io.github.peft4j.reliability;

import io.github.peft4j.core.io.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code kill -9} at random moments of {@code peft train} (mid-step, mid-checkpoint, mid-save), many trials. After
 * each kill: an {@code adapter/} that exists is the uninterrupted run's, byte for byte (never half-written); a
 * {@code checkpoint/} that exists resumes ({@code --resume}) to the uninterrupted run's adapter, byte for byte (so it
 * was the last complete one and exact); with none, the run starts over. Temporary directories a kill leaves behind
 * are counted and must be gone after the resumed run.
 *
 * <p>Run after {@code mvn package}: {@code java -cp peft-reliability/target/peft-reliability-<version>.jar
 * io.github.peft4j.reliability.KillTrials [trials=50] [seed=1]}; results in {@code runs/kill/}.
 */
public final class KillTrials {

    private KillTrials() {}

    /**
     * One trial's outcome.
     *
     * @param killAfterMs when the kill came, after the start
     * @param checkpointStep the step of the checkpoint found after the kill, or -1 for none
     * @param adapterFound whether an {@code adapter/} was found
     * @param leftovers temporary directories found after the kill
     * @param ok whether every check held
     * @param detail what failed, or empty
     */
    public record Trial(
            long killAfterMs, long checkpointStep, boolean adapterFound, int leftovers, boolean ok, String detail) {}

    /**
     * Runs the trials.
     *
     * @param work a scratch directory
     * @param trials how many kills
     * @param seed the seed of the kill times
     * @return the trials
     * @throws IOException if files cannot be written
     * @throws InterruptedException if interrupted
     */
    public static List<Trial> run(Path work, int trials, long seed) throws IOException, InterruptedException {
        Files.createDirectories(work);
        PeftProcess.writeModelAndData(work);
        Path ref = work.resolve("reference");
        long t0 = System.nanoTime();
        int code = PeftProcess.run(PeftProcess.train(work, ref), work.resolve("reference.log"));
        long fullMs = (System.nanoTime() - t0) / 1_000_000;
        if (code != 0) {
            throw new IllegalStateException("the reference run failed; see " + work.resolve("reference.log"));
        }
        SplittableRandom r = new SplittableRandom(seed);
        List<Trial> out = new ArrayList<>();
        for (int i = 0; i < trials; i++) {
            Path run = work.resolve("trial-" + i);
            Path log = work.resolve("trial-" + i + ".log");
            long at = r.nextLong(200, Math.max(300, fullMs + 200));
            Process p = PeftProcess.start(PeftProcess.train(work, run), log);
            boolean finished = p.waitFor(at, TimeUnit.MILLISECONDS);
            if (!finished) {
                p.destroyForcibly(); // SIGKILL
                p.waitFor();
            }
            out.add(check(work, ref, run, at, finished));
        }
        return out;
    }

    private static int leftovers(Path run) throws IOException {
        if (!Files.isDirectory(run)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(run)) {
            return (int) s.filter(f -> f.getFileName().toString().matches("\\..*\\.(tmp|old)-.*"))
                    .count();
        }
    }

    private static Trial check(Path work, Path ref, Path run, long at, boolean finished)
            throws IOException, InterruptedException {
        Path adapter = run.resolve("adapter");
        Path checkpoint = run.resolve("checkpoint");
        boolean adapterFound = Files.isDirectory(adapter);
        int left = leftovers(run);
        long step = -1;
        List<String> problems = new ArrayList<>();
        if (adapterFound && !PeftProcess.sameAdapter(ref.resolve("adapter"), adapter)) {
            problems.add("the adapter found after the kill differs from the uninterrupted run's");
        }
        if (Files.isDirectory(checkpoint)) {
            try {
                step = Json.readObject(checkpoint.resolve("trainer_state.json"))
                        .path("step")
                        .asLong();
            } catch (IOException e) {
                problems.add("the checkpoint found after the kill is unreadable: " + e.getMessage());
            }
        }
        boolean setAside;
        try (Stream<Path> s = Files.isDirectory(run) ? Files.list(run) : Stream.empty()) {
            setAside = s.anyMatch(f -> f.getFileName().toString().startsWith(".checkpoint.old-"));
        }
        if (!finished) {
            // a checkpoint set aside (killed between the renames of its replacement) must be found by --resume too
            List<String> args = step >= 0 || (setAside && !Files.isDirectory(checkpoint))
                    ? PeftProcess.train(work, run, "--resume", checkpoint.toString())
                    : PeftProcess.train(work, run);
            Path log = run.resolveSibling(run.getFileName() + "-resume.log");
            int code = PeftProcess.run(args, log);
            if (code != 0) {
                problems.add((step >= 0 ? "--resume from step " + step : "the restart") + " failed (exit " + code
                        + "): " + tail(log));
            } else if (!PeftProcess.sameAdapter(ref.resolve("adapter"), adapter)) {
                problems.add((step >= 0 ? "--resume from step " + step : "the restart")
                        + " ended with another adapter than the uninterrupted run's");
            } else if (leftovers(run) != 0) {
                problems.add(leftovers(run) + " temporary director(ies) left after the resumed run");
            }
        }
        return new Trial(at, step, adapterFound, left, problems.isEmpty(), String.join("; ", problems));
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
    }

    /**
     * Runs the trials and prints a summary.
     *
     * @param args trials (50), seed (1)
     * @throws Exception if the trials cannot run
     */
    public static void main(String[] args) throws Exception {
        int trials = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        long seed = args.length > 1 ? Long.parseLong(args[1]) : 1;
        Path work = Path.of("runs", "kill");
        List<Trial> t = run(work, trials, seed);
        long ok = t.stream().filter(Trial::ok).count();
        long withCheckpoint = t.stream().filter(x -> x.checkpointStep() >= 0).count();
        long withAdapter = t.stream().filter(Trial::adapterFound).count();
        long withLeftovers = t.stream().filter(x -> x.leftovers() > 0).count();
        StringBuilder b = new StringBuilder();
        t.forEach(x -> b.append(String.format(
                Locale.ROOT,
                "kill at %5d ms: checkpoint step %3d, adapter %s, leftovers %d: %s%n",
                x.killAfterMs(),
                x.checkpointStep(),
                x.adapterFound() ? "yes" : "no ",
                x.leftovers(),
                x.ok() ? "ok" : "FAILED " + x.detail())));
        b.append(String.format(
                Locale.ROOT,
                "%d trials: %d passed; killed with a checkpoint %d, after the adapter was saved %d, leaving temporary"
                        + " directories %d%n",
                t.size(),
                ok,
                withCheckpoint,
                withAdapter,
                withLeftovers));
        System.out.print(b);
        Files.writeString(work.resolve("summary.txt"), b.toString());
        if (ok != t.size()) {
            System.exit(1);
        }
    }
}
