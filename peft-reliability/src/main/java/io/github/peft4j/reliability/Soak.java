package io.github.peft4j.reliability;

import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.examples.Classifier;
import io.github.peft4j.models.bert.BertTokenizer;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.models.decoder.GenerationConfig;
import io.github.peft4j.models.decoder.Generator;
import io.github.peft4j.models.text.HfTokenizer;
import io.github.peft4j.testing.TinyDecoders;
import io.github.peft4j.train.ProcessMemory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Long runs, memory watched: {@code peft train} for 10,000 optimizer steps on the tiny BERT (short sequences, a
 * checkpoint every 1,000, a fixed 384 MiB Java heap), its resident set read from {@code metrics.jsonl} (sampled
 * every step), and 10,000 predictions in a JVM of the same heap through the adapter it saved (the resident set
 * sampled every 100 calls), and 10,000 generations of 8 tokens (tiny Llama, Python's LoRA adapter, sampled with a
 * seed per call) in a third such JVM. After a warm-up of the first 30% the resident set must stay flat: the median
 * of the last 10% may exceed the median of the 10% after warm-up by at most {@link #BOUND_MIB} MiB (per-step NDManager
 * scopes free every array of a step; a leak of one small array a step would be 10,000 arrays). The heap is fixed
 * because its growth towards the JVM's default maximum would read as a leak.
 *
 * <p>Run after {@code mvn package}: {@code java -cp peft-reliability/target/peft-reliability-<version>.jar
 * io.github.peft4j.reliability.Soak [steps=10000] [calls=10000]}; files in {@code runs/soak/}.
 */
public final class Soak {

    /** The growth a flat run may show, in MiB, from after warm-up to the end. */
    static final double BOUND_MIB = 32;

    /** The share of a run counted as warm-up (the allocators and the JIT settle; predictions took 24%). */
    static final double WARMUP = 0.3;

    /** The training JVM's fixed heap. */
    static final String HEAP = "384m";

    private Soak() {}

    private static double median(List<Double> v, int from, int to) {
        double[] a =
                v.subList(from, to).stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    /** Prints and checks one series; returns whether it is flat. */
    private static boolean report(String what, List<Double> rss, StringBuilder out) {
        int n = rss.size();
        int tenth = Math.max(1, n / 10);
        int warm = (int) (n * WARMUP);
        double afterWarmup = median(rss, warm, Math.min(n, warm + tenth));
        double middle = median(rss, n / 2 - tenth / 2, n / 2 + tenth / 2 + 1);
        double end = median(rss, n - tenth, n);
        double max = rss.stream().mapToDouble(Double::doubleValue).max().orElse(0);
        boolean flat = end - afterWarmup <= BOUND_MIB;
        out.append(String.format(
                Locale.ROOT,
                "| %s | %d | %.0f | %.0f | %.0f | %+.1f | %.0f | %s |%n",
                what,
                n,
                afterWarmup,
                middle,
                end,
                end - afterWarmup,
                max,
                flat ? "flat" : "GROWS"));
        return flat;
    }

    /** Runs {@code Soak MODE work calls} in a JVM of the fixed heap and reads the resident-set samples it wrote. */
    private static List<Double> child(String mode, Path work, int calls) throws Exception {
        Path log = work.resolve(mode.substring(2) + ".log");
        Process p = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xms" + HEAP,
                        "-Xmx" + HEAP,
                        "-cp",
                        ClassPaths.ofThisModule(),
                        Soak.class.getName(),
                        mode,
                        work.toString(),
                        Integer.toString(calls))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(mode + " failed; see " + log);
        }
        List<Double> rss = new ArrayList<>();
        for (String line : Files.readAllLines(work.resolve(mode.substring(2) + "-rss.txt"), StandardCharsets.UTF_8)) {
            rss.add(Double.parseDouble(line));
        }
        return rss;
    }

    /** Generates 8 tokens {@code calls} times with the tiny Llama and Python's LoRA adapter, sampling as predict. */
    private static void generate(Path work, int calls) throws Exception {
        List<String> rss = new ArrayList<>();
        Path llama = TinyDecoders.copy("llama", work.resolve("decoder"));
        try (NDManager m = NDManager.newBaseManager();
                HfTokenizer tok = HfTokenizer.open(llama.resolve("base"))) {
            CausalLanguageModel base = Decoders.load(llama.resolve("base"), m);
            PeftModel peft = PeftModel.builder().setBaseModel(base).build();
            peft.loadAdapter(llama.resolve("lora"), PeftModel.DEFAULT_ADAPTER);
            Generator g = new Generator(peft, base.getConfig(), tok);
            for (int i = 0; i < calls; i++) {
                GenerationConfig c = GenerationConfig.builder()
                        .optMaxNewTokens(8)
                        .optDoSample(true)
                        .optSeed(i)
                        .build();
                g.generateText(List.of("Is this email spam? WIN a FREE cruise #" + i), c, m, null);
                if (i % 100 == 99) {
                    rss.add(Double.toString(ProcessMemory.residentKb() / 1024.0));
                }
            }
        }
        Files.write(work.resolve("generate-rss.txt"), rss, StandardCharsets.UTF_8);
    }

    /** Predicts {@code calls} times through the trained adapter, writing the resident set every 100 calls. */
    private static void predict(Path work, int calls) throws Exception {
        List<String> rss = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager();
                BertTokenizer tok = BertTokenizer.open(work.resolve("tiny-bert"), 24)) {
            Classifier c = Classifier.load(work.resolve("tiny-bert"), work.resolve("train/adapter"), m);
            String[] texts = {"Win a free prize now #1", "Meeting moved to Tuesday #2", "Cheap meds, click here #3"};
            for (int i = 0; i < calls; i++) {
                try (NDManager s = m.newSubManager()) {
                    c.model()
                            .forward(new ParameterStore(s, false), tok.toInputs(List.of(texts[i % 3]), s), false)
                            .singletonOrThrow()
                            .argMax(-1)
                            .getLong();
                }
                if (i % 100 == 99) {
                    rss.add(Double.toString(ProcessMemory.residentKb() / 1024.0));
                }
            }
        }
        Files.write(work.resolve("predict-rss.txt"), rss, StandardCharsets.UTF_8);
    }

    /**
     * Runs the soak.
     *
     * @param args steps (10000), prediction calls (10000)
     * @throws Exception if a run fails
     */
    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("--predict")) {
            predict(Path.of(args[1]), Integer.parseInt(args[2]));
            return;
        }
        if (args.length == 3 && args[0].equals("--generate")) {
            generate(Path.of(args[1]), Integer.parseInt(args[2]));
            return;
        }
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int calls = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        Path work = Path.of("runs", "soak").toAbsolutePath();
        Files.createDirectories(work);
        PeftProcess.writeModelAndData(work);
        Path run = work.resolve("train");
        long t0 = System.nanoTime();
        // a fixed Java heap: its growth to the JVM's default maximum would read as a leak; what grows beyond it is not
        int code = PeftProcess.start(
                        List.of("-Xms" + HEAP, "-Xmx" + HEAP),
                        PeftProcess.train(
                                work, run, "--max-steps", Integer.toString(steps), "--checkpoint-every", "1000"),
                        work.resolve("train.log"))
                .waitFor();
        double trainSeconds = (System.nanoTime() - t0) / 1e9;
        if (code != 0) {
            throw new IllegalStateException("the training run failed; see " + work.resolve("train.log"));
        }
        List<Double> trainRss = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
            JsonNode n = Json.MAPPER.readTree(line);
            trainRss.add(n.path("rss_mb").asDouble());
        }

        // the predictions, then the generations, each in a JVM of its own with the same fixed heap
        t0 = System.nanoTime();
        List<Double> predictRss = child("--predict", work, calls);
        double predictSeconds = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        List<Double> generateRss = child("--generate", work, calls);
        double generateSeconds = (System.nanoTime() - t0) / 1e9;

        StringBuilder b = new StringBuilder();
        b.append(String.format(
                Locale.ROOT,
                "training %d steps in %.0f s, %d predictions in %.0f s, %d generations in %.0f s; resident set in MiB"
                        + " (medians of 10%% windows)%n%n",
                steps,
                trainSeconds,
                calls,
                predictSeconds,
                calls,
                generateSeconds));
        b.append("| run | samples | after warm-up | middle | end | end − after warm-up | max | verdict |\n");
        b.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
        boolean flat = report("peft train (per step)", trainRss, b);
        flat &= report("predict, one JVM (per 100 calls)", predictRss, b);
        flat &= report("generate 8 tokens, one JVM (per 100 calls)", generateRss, b);
        System.out.print(b);
        Files.writeString(work.resolve("summary.md"), b.toString());
        if (!flat) {
            System.exit(1);
        }
    }
}
