package io.github.peft4j.bench;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.Targets;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.lora.LoraConfig;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.decoder.DecoderConfig;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.models.decoder.Generation;
import io.github.peft4j.models.decoder.GenerationConfig;
import io.github.peft4j.models.decoder.Generator;
import io.github.peft4j.train.CausalLmData;
import io.github.peft4j.train.CausalLmLoss;
import io.github.peft4j.train.FineTuneConfig;
import io.github.peft4j.train.FineTuner;
import io.github.peft4j.train.FitContext;
import io.github.peft4j.train.FitListener;
import io.github.peft4j.train.ProcessMemory;
import io.github.peft4j.train.StepRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Decoder training and generation on a randomly initialised model of SmolLM2-135M's shape (hidden 576, 30 layers, 9
 * heads / 3 KV heads, SwiGLU 1536, vocab 49,152, tied embeddings): a LoRA r=16 all-linear training step and a full
 * fine-tuning step on batch 4 × 256 tokens (forward, backward, AdamW), and greedy generation with and without the KV
 * cache. Each candidate runs in its own JVM so that its peak RSS is its own.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar io.github.peft4j.bench.DecoderBench [steps]}
 */
public final class DecoderBench {

    /** The config of SmolLM2-135M (HuggingFaceTB/SmolLM2-135M's config.json, the fields the model reads). */
    static final String SMOLLM2_135M = "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\","
            + "\"vocab_size\":49152,\"hidden_size\":576,\"intermediate_size\":1536,\"num_hidden_layers\":30,"
            + "\"num_attention_heads\":9,\"num_key_value_heads\":3,\"max_position_embeddings\":8192,"
            + "\"rms_norm_eps\":1e-5,\"rope_theta\":100000,\"tie_word_embeddings\":true,\"hidden_act\":\"silu\","
            + "\"initializer_range\":0.041}";

    private DecoderBench() {}

    /**
     * Runs every candidate in its own JVM and prints the table, or (with a candidate name first) one candidate.
     *
     * @param args {@code [steps]}, or {@code lora|full|generate steps} for one candidate
     * @throws Exception if a run fails
     */
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && List.of("lora", "full", "generate").contains(args[0])) {
            int steps = Integer.parseInt(args[1]);
            ObjectNode r = "generate".equals(args[0]) ? generate(steps) : train("full".equals(args[0]), steps);
            long rss = ProcessMemory.peakResidentKb();
            r.put("peak_rss_mb", rss / 1024.0);
            System.out.println("RESULT " + r);
            return;
        }
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        List<ObjectNode> results = new ArrayList<>();
        for (String c : List.of("lora", "full", "generate")) {
            results.add(child(c, steps));
        }
        System.out.printf(
                Locale.ROOT,
                "SmolLM2-135M shape, random init, float32; %d CPUs; %d measured steps after 2 warm-up%n%n",
                Runtime.getRuntime().availableProcessors(),
                steps);
        System.out.println("| run | step s median [min–max] | tokens/s (median) | trainable | peak RSS MiB |");
        System.out.println("| --- | ---: | ---: | ---: | ---: |");
        for (ObjectNode r : results.subList(0, 2)) {
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %s | %.0f | %,d | %.0f |%n",
                    r.get("run").asText(),
                    r.get("step").asText(),
                    r.get("tokens_per_s").asDouble(),
                    r.get("trainable").asLong(),
                    r.get("peak_rss_mb").asDouble());
        }
        ObjectNode g = results.get(2);
        System.out.printf(
                Locale.ROOT,
                "%n| generation (batch 1, prompt 32, 64 new tokens, greedy) | tokens/s median [min–max] |%n"
                        + "| --- | ---: |%n| with KV cache | %s |%n| without cache | %s |%npeak RSS %.0f MiB%n",
                g.get("cache").asText(),
                g.get("no_cache").asText(),
                g.get("peak_rss_mb").asDouble());
    }

    private static ObjectNode child(String candidate, int steps) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        DecoderBench.class.getName(),
                        candidate,
                        Integer.toString(steps))
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(candidate + " failed:\n" + out);
        }
        String line = Arrays.stream(out.split("\n"))
                .filter(l -> l.startsWith("RESULT "))
                .findFirst()
                .orElseThrow(() -> new IllegalStateException(candidate + " printed no result:\n" + out));
        System.err.println(candidate + " done");
        return (ObjectNode) Json.MAPPER.readTree(line.substring(7));
    }

    static DecoderConfig config() throws IOException {
        return DecoderConfig.fromJson((ObjectNode) Json.MAPPER.readTree(SMOLLM2_135M), "SmolLM2-135M config");
    }

    private static ObjectNode train(boolean full, int steps) throws IOException {
        int batch = 4;
        int seq = 256;
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModel base = Decoders.random(config(), m, 1);
            ai.djl.nn.Block model;
            long trainable;
            if (full) {
                base.getParameters().values().forEach(p -> p.freeze(false));
                model = base;
                trainable = base.getParameters().values().stream()
                        .mapToLong(p -> p.getArray().size())
                        .sum();
            } else {
                PeftModel peft = PeftModel.builder()
                        .setBaseModel(base)
                        .setConfig(LoraConfig.builder()
                                .optTargets(new Targets(ModuleSelector.allLinear(), null, List.of(), "CAUSAL_LM", null))
                                .optRank(16)
                                .optAlpha(32)
                                .optDropout(0.05)
                                .build())
                        .build();
                model = peft;
                trainable = peft.getTrainableParameters().trainable();
            }
            SplittableRandom r = new SplittableRandom(3);
            List<long[]> ids = new ArrayList<>();
            List<boolean[]> counted = new ArrayList<>();
            for (int i = 0; i < batch * (steps + 2); i++) {
                long[] a = new long[seq];
                boolean[] c = new boolean[seq];
                for (int t = 0; t < seq; t++) {
                    a[t] = r.nextInt(49152);
                    c[t] = true;
                }
                ids.add(a);
                counted.add(c);
            }
            List<Double> times = new ArrayList<>();
            long[] last = {System.nanoTime()};
            Path out = Files.createTempDirectory("decoder-bench");
            FineTuner.builder()
                    .setModel(model)
                    .setConfig(FineTuneConfig.builder()
                            .optBatchSize(batch)
                            .optMaxSteps(steps + 2)
                            .optEvalEvery(0)
                            .optCheckpointEvery(0)
                            .optLearningRate(full ? 5e-5 : 2e-4)
                            .build())
                    .optLoss(new CausalLmLoss())
                    .addListener(new FitListener() {
                        @Override
                        public void onStep(FitContext ctx, StepRecord step) {
                            long now = System.nanoTime();
                            if (step.step() > 2) {
                                times.add((now - last[0]) / 1e9);
                            }
                            last[0] = now;
                        }
                    })
                    .build()
                    .fit(new CausalLmData(ids, counted, 0), out, null);
            double median = median(times);
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("run", full ? "full fine-tuning" : "LoRA r=16 all-linear");
            o.put("step", TrainRuns.stat(times, "%.2f"));
            o.put("tokens_per_s", batch * seq / median);
            o.put("trainable", trainable);
            return o;
        }
    }

    private static ObjectNode generate(int rounds) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModel model = Decoders.random(config(), m, 1);
            Generator g = new Generator(model, model.getConfig(), null);
            long[] prompt = new long[32];
            SplittableRandom r = new SplittableRandom(5);
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = 1 + r.nextInt(49151);
            }
            ObjectNode o = Json.MAPPER.createObjectNode();
            for (boolean cache : new boolean[] {true, false}) {
                GenerationConfig c = GenerationConfig.builder()
                        .optMaxNewTokens(64)
                        .optUseCache(cache)
                        .optEosTokenIds(java.util.Set.of())
                        .build();
                List<Double> rates = new ArrayList<>();
                for (int i = 0; i < Math.max(3, rounds / 2) + 1; i++) {
                    long t0 = System.nanoTime();
                    List<Generation> out = g.generate(List.of(prompt), c, m, null);
                    double s = (System.nanoTime() - t0) / 1e9;
                    if (i > 0) {
                        rates.add(out.get(0).tokens().length / s);
                    }
                }
                o.put(cache ? "cache" : "no_cache", TrainRuns.stat(rates, "%.1f"));
            }
            return o;
        }
    }

    private static double median(List<Double> values) {
        List<Double> v = new ArrayList<>(values);
        v.sort(null);
        return v.size() % 2 == 1 ? v.get(v.size() / 2) : (v.get(v.size() / 2 - 1) + v.get(v.size() / 2)) / 2;
    }
}
