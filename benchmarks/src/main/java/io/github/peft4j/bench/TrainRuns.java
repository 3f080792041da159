package io.github.peft4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Runs {@code peft train} in a separate process (so its peak RSS is its own) and reads its results.json. */
final class TrainRuns {

    static final ObjectMapper JSON = new ObjectMapper();

    private TrainRuns() {}

    /**
     * Runs {@code java -jar peft-examples/target/peft.jar train --model minilm --data spam-assassin ...}.
     *
     * @param label a name for messages
     * @param out the run directory; the log goes beside it
     * @param args arguments after the model and data
     * @return results.json with {@code wall_seconds} added
     */
    static ObjectNode train(String label, Path out, List<String> args) throws IOException, InterruptedException {
        return train(label, out, List.of("--model", "minilm", "--data", "spam-assassin"), args);
    }

    /**
     * Runs {@code java -jar peft-examples/target/peft.jar train <task args> ...}.
     *
     * @param label a name for messages
     * @param out the run directory; the log goes beside it
     * @param task the model, data and task arguments
     * @param args the run's other arguments
     * @return results.json with {@code wall_seconds} added
     */
    static ObjectNode train(String label, Path out, List<String> task, List<String> args)
            throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(
                java, "--add-modules", "jdk.incubator.vector", "-jar", "peft-examples/target/peft.jar", "train"));
        cmd.addAll(task);
        cmd.addAll(List.of("--checkpoint-every", "0", "--no-progress", "--output", out.toString()));
        cmd.addAll(args);
        System.err.println("running " + label);
        long t0 = System.nanoTime();
        Path log = out.resolveSibling(out.getFileName() + ".log");
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(label + " failed; see " + log);
        }
        ObjectNode res = (ObjectNode) JSON.readTree(out.resolve("results.json").toFile());
        res.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
        return res;
    }

    /** Median, and [min – max] when there are several values. */
    static String stat(List<Double> values, String fmt) {
        List<Double> v = new ArrayList<>(values);
        v.sort(null);
        double med = v.size() % 2 == 1 ? v.get(v.size() / 2) : (v.get(v.size() / 2 - 1) + v.get(v.size() / 2)) / 2;
        if (v.size() == 1) {
            return String.format(Locale.ROOT, fmt, med);
        }
        return String.format(Locale.ROOT, fmt + " [" + fmt + " – " + fmt + "]", med, v.get(0), v.get(v.size() - 1));
    }

    /** {@link #stat} of one key of several results. */
    static String stat(List<? extends JsonNode> rs, String key, String fmt) {
        List<Double> v = new ArrayList<>();
        rs.forEach(r -> v.add(r.path(key).asDouble(Double.NaN)));
        return stat(v, fmt);
    }
}
