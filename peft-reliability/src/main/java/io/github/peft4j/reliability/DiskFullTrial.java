package io.github.peft4j.reliability;

import io.github.peft4j.core.io.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A full disk mid-run: {@code peft train} writes into a small tmpfs, stops at step 10 (a checkpoint), the disk is then
 * filled to half a checkpoint's size from full, and {@code --resume} runs until its next checkpoint cannot be written.
 * Checked: the run fails with a message that says the disk is full, the step-10 checkpoint is intact (its files
 * unchanged, no temporary directory left), and after space is freed it resumes to the uninterrupted run's adapter,
 * byte for byte. Needs root (it mounts the tmpfs).
 *
 * <p>Run after {@code mvn package}: {@code java -cp peft-reliability/target/peft-reliability-<version>.jar
 * io.github.peft4j.reliability.DiskFullTrial}; files in {@code runs/disk-full/}.
 */
public final class DiskFullTrial {

    private DiskFullTrial() {}

    private static long size(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile)
                    .mapToLong(f -> f.toFile().length())
                    .sum();
        }
    }

    private static void sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IOException(
                    String.join(" ", cmd) + " failed (exit " + p.exitValue() + "); this trial needs root");
        }
    }

    /**
     * Runs the trial.
     *
     * @param args none
     * @throws Exception if a check fails or the tmpfs cannot be mounted
     */
    public static void main(String[] args) throws Exception {
        Path work = Path.of("runs", "disk-full").toAbsolutePath();
        Files.createDirectories(work);
        PeftProcess.writeModelAndData(work);
        Path ref = work.resolve("reference");
        if (PeftProcess.run(PeftProcess.train(work, ref), work.resolve("reference.log")) != 0) {
            throw new IllegalStateException("the reference run failed; see " + work.resolve("reference.log"));
        }
        long checkpoint = size(ref.resolve("checkpoint"));
        long capacity = 4 * checkpoint + (2L << 20);
        Path disk = Files.createDirectories(work.resolve("disk"));
        sh("mount", "-t", "tmpfs", "-o", "size=" + capacity, "tmpfs", disk.toString());
        try {
            Path run = disk.resolve("run");
            if (PeftProcess.run(PeftProcess.train(work, run, "--stop-after", "10"), work.resolve("part.log")) != 0) {
                throw new IllegalStateException("the first part failed; see " + work.resolve("part.log"));
            }
            byte[] before = Files.readAllBytes(run.resolve("checkpoint/trainable.safetensors"));
            long free = Files.getFileStore(disk).getUsableSpace();
            long fill = free - checkpoint / 2;
            try (OutputStream o = Files.newOutputStream(disk.resolve("filler"))) {
                byte[] block = new byte[1 << 16];
                for (long w = 0; w < fill; w += block.length) {
                    o.write(block, 0, (int) Math.min(block.length, fill - w));
                }
            }
            Path log = work.resolve("full.log");
            int code = PeftProcess.run(
                    PeftProcess.train(
                            work, run, "--resume", run.resolve("checkpoint").toString()),
                    log);
            String out = Files.readString(log, StandardCharsets.UTF_8);
            long step = Json.readObject(run.resolve("checkpoint/trainer_state.json"))
                    .path("step")
                    .asLong();
            boolean intact = java.util.Arrays.equals(
                    before, Files.readAllBytes(run.resolve("checkpoint/trainable.safetensors")));
            long left;
            try (Stream<Path> s = Files.list(run)) {
                left = s.filter(f -> f.getFileName().toString().startsWith(".")).count();
            }
            System.out.printf(
                    "disk full: exit %d, message %s; checkpoint step %d %s; temporary directories left %d%n",
                    code,
                    out.contains("No space left on device") ? "names the full disk" : "DOES NOT name the full disk",
                    step,
                    intact ? "intact" : "CHANGED",
                    left);
            List<String> lines =
                    out.lines().filter(l -> l.contains("No space")).limit(2).toList();
            lines.forEach(l -> System.out.println("  " + l));
            Files.delete(disk.resolve("filler"));
            int again = PeftProcess.run(
                    PeftProcess.train(
                            work, run, "--resume", run.resolve("checkpoint").toString()),
                    work.resolve("after.log"));
            boolean same = again == 0 && PeftProcess.sameAdapter(ref.resolve("adapter"), run.resolve("adapter"));
            System.out.printf(
                    "after freeing space: exit %d, adapter %s%n", again, same ? "= uninterrupted run's" : "DIFFERS");
            if (code == 0 || !out.contains("No space left on device") || step != 10 || !intact || left != 0 || !same) {
                System.exit(1);
            }
        } finally {
            sh("umount", disk.toString());
        }
    }
}
