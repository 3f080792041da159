package io.github.peft4j.reliability;

import io.github.peft4j.examples.cli.PeftCommand;
import io.github.peft4j.models.bert.MiniLm;
import io.github.peft4j.testing.TinyBert;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The {@code peft} command in a process of its own, on the tiny BERT and a small mail CSV. */
final class PeftProcess {

    private PeftProcess() {}

    /** Writes the tiny BERT directory and a two-class CSV of 160 mails under {@code dir}. */
    static void writeModelAndData(Path dir) throws IOException {
        TinyBert.writeDirectory(dir.resolve("tiny-bert"), MiniLm.directory().resolve("tokenizer.json"));
        TinyBert.writeMailCsv(dir.resolve("mail.csv"), 0);
    }

    /**
     * {@code peft train} arguments on the tiny model: 30 steps, a checkpoint every 2; an option in {@code extra}
     * replaces its default.
     */
    static List<String> train(Path dir, Path out, String... extra) {
        String[][] defaults = {
            {"--model", dir.resolve("tiny-bert").toString()},
            {"--data", dir.resolve("mail.csv").toString()},
            {"--output", out.toString()},
            {"--max-length", "24"},
            {"--batch-size", "8"},
            {"--max-steps", "30"},
            {"--eval-every", "0"},
            {"--checkpoint-every", "2"},
            {"--lr", "3e-2"}
        };
        List<String> given = Arrays.asList(extra);
        List<String> a = new ArrayList<>(List.of("train", "--no-progress"));
        for (String[] d : defaults) {
            if (!given.contains(d[0])) {
                a.addAll(List.of(d));
            }
        }
        a.addAll(given);
        return a;
    }

    /** Starts {@code peft ARGS} in a new JVM, its output into {@code log}. */
    static Process start(List<String> args, Path log) throws IOException {
        return start(List.of(), args, log);
    }

    /** Starts {@code java JVM-OPTIONS ... peft ARGS}, its output into {@code log}. */
    static Process start(List<String> jvm, List<String> args, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(
                List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvm);
        cmd.addAll(List.of("-cp", ClassPaths.ofThisModule(), PeftCommand.class.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("DJL_OFFLINE", "true");
        return pb.start();
    }

    /** Runs {@code peft ARGS} to the end and returns its exit code. */
    static int run(List<String> args, Path log) throws IOException, InterruptedException {
        return start(args, log).waitFor();
    }

    /** Whether two adapter directories hold the same adapter file, byte for byte. */
    static boolean sameAdapter(Path a, Path b) throws IOException {
        return Arrays.equals(
                        Files.readAllBytes(a.resolve("adapter_model.safetensors")),
                        Files.readAllBytes(b.resolve("adapter_model.safetensors")))
                && Files.readString(a.resolve("adapter_config.json"))
                        .equals(Files.readString(b.resolve("adapter_config.json")));
    }
}
