package io.github.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.Targets;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.models.decoder.Generation;
import io.github.peft4j.models.decoder.GenerationConfig;
import io.github.peft4j.models.decoder.Generator;
import io.github.peft4j.models.text.HfTokenizer;
import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** LoRA's {@code all-linear} on the decoders, and the generator's sampling options, on the tiny checkpoints. */
class DecoderLoraTest {

    @TempDir
    Path tmp;

    /** As Python PEFT: every linear layer of the blocks, never the output layer (tied or not). */
    @ParameterizedTest
    @CsvSource({"llama,14", "qwen2,14", "gpt2,8"})
    void allLinearLeavesOutTheOutputLayer(String family, int layers) throws IOException {
        Path dir = TinyDecoders.copy(family, tmp).resolve("base");
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel peft = PeftModel.builder()
                    .setBaseModel(Decoders.load(dir, m))
                    .setConfig(LoraConfig.builder()
                            .optTargets(new Targets(ModuleSelector.allLinear(), null, List.of(), "CAUSAL_LM", null))
                            .build())
                    .build();
            List<String> paths = peft.getTargetPaths(PeftModel.DEFAULT_ADAPTER);
            assertEquals(layers, paths.size(), paths.toString());
            assertFalse(paths.stream().anyMatch(p -> p.contains("lm_head")), paths.toString());
        }
    }

    @Test
    void mixedAdapterGenerationEqualsEachPromptAlone() throws IOException {
        Path dir = TinyDecoders.copy("llama", tmp).resolve("base");
        try (NDManager m = NDManager.newBaseManager();
                HfTokenizer tokenizer = HfTokenizer.open(dir)) {
            PeftModel peft = PeftModel.builder()
                    .setBaseModel(Decoders.load(dir, m))
                    .setConfig(LoraConfig.builder()
                            .setTargetModules("q_proj", "v_proj")
                            .optRank(4)
                            .optAlpha(8)
                            .build())
                    .build();
            peft.addAdapter(
                    "b",
                    LoraConfig.builder()
                            .setTargetModules("down_proj", "o_proj")
                            .optRank(2)
                            .optAlpha(4)
                            .build());
            SplittableRandom r = new SplittableRandom(9);
            for (String name : peft.getAdapterNames()) {
                peft.getAdapterTensors(name).forEach((k, a) -> {
                    float[] v = new float[Math.toIntExact(a.size())];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) (0.5 * r.nextGaussian());
                    }
                    try (NDArray src = m.create(v, a.getShape())) {
                        ParameterValues.copyInto(a, src);
                    }
                });
            }
            CausalLanguageModel base = (CausalLanguageModel) peft.getBaseModel();
            Generator g = new Generator(peft, base.getConfig(), tokenizer);
            List<long[]> prompts = List.of(
                    tokenizer.encode("Subject: meeting tomorrow at noon", true),
                    tokenizer.encode("Win a prize", true),
                    tokenizer.encode("The build is green", true));
            List<String> names = List.of(PeftModel.DEFAULT_ADAPTER, PeftModel.BASE_ROWS, "b");
            GenerationConfig c = GenerationConfig.builder().optMaxNewTokens(8).build();
            List<Generation> mixed = g.generate(prompts, c, m, null, names);
            List<String> distinct = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                long[] alone = null;
                for (String name : List.of(PeftModel.DEFAULT_ADAPTER, PeftModel.BASE_ROWS, "b")) {
                    if (name.equals(PeftModel.BASE_ROWS)) {
                        peft.disableAdapters();
                    } else {
                        peft.enableAdapters();
                        peft.setActiveAdapter(name);
                    }
                    long[] t = g.generate(List.of(prompts.get(i)), c, m, null)
                            .get(0)
                            .tokens();
                    distinct.add(i + ":" + Arrays.toString(t));
                    if (name.equals(names.get(i))) {
                        alone = t;
                    }
                }
                peft.enableAdapters();
                assertArrayEquals(alone, mixed.get(i).tokens(), "prompt " + i + " with " + names.get(i));
            }
            // guards the comparison: each prompt's three continuations are not all the same
            for (int i = 0; i < prompts.size(); i++) {
                String prefix = i + ":";
                assertTrue(
                        distinct.stream()
                                        .filter(x -> x.startsWith(prefix))
                                        .distinct()
                                        .count()
                                > 1,
                        "the adapters change prompt " + i + "'s continuation: " + distinct);
            }
        }
    }

    @Test
    void samplingIsSeededAndTopKOneIsGreedy() throws IOException {
        Path dir = TinyDecoders.copy("llama", tmp).resolve("base");
        try (NDManager m = NDManager.newBaseManager();
                HfTokenizer tokenizer = HfTokenizer.open(dir)) {
            CausalLanguageModel model = Decoders.load(dir, m);
            Generator g = new Generator(model, model.getConfig(), tokenizer);
            List<long[]> prompt = List.of(tokenizer.encode("Subject: meeting tomorrow", true));
            GenerationConfig.Builder base = GenerationConfig.builder().optMaxNewTokens(12);
            long[] greedy = g.generate(prompt, base.build(), m, null).get(0).tokens();
            long[] topOne = g.generate(prompt, base.optDoSample(true).optTopK(1).build(), m, null)
                    .get(0)
                    .tokens();
            assertArrayEquals(greedy, topOne, "top-k 1 sampling is greedy");
            GenerationConfig hot = GenerationConfig.builder()
                    .optMaxNewTokens(12)
                    .optDoSample(true)
                    .optTemperature(5)
                    .optTopK(0)
                    .optSeed(7)
                    .build();
            long[] a = g.generate(prompt, hot, m, null).get(0).tokens();
            long[] b = g.generate(prompt, hot, m, null).get(0).tokens();
            assertArrayEquals(a, b, "the same seed samples the same tokens");
            long[] c = g.generate(
                            prompt,
                            GenerationConfig.builder()
                                    .optMaxNewTokens(12)
                                    .optDoSample(true)
                                    .optTemperature(5)
                                    .optTopK(0)
                                    .optSeed(8)
                                    .build(),
                            m,
                            null)
                    .get(0)
                    .tokens();
            assertNotEquals(Arrays.toString(a), Arrays.toString(c), "another seed samples other tokens");

            // a repetition penalty changes the greedy path of this (repetitive) random model
            long[] penalised = g.generate(
                            prompt,
                            GenerationConfig.builder()
                                    .optMaxNewTokens(12)
                                    .optRepetitionPenalty(3)
                                    .build(),
                            m,
                            null)
                    .get(0)
                    .tokens();
            assertNotEquals(Arrays.toString(greedy), Arrays.toString(penalised));

            // a stop string ends the row as soon as the text holds it
            String text = g.generate(prompt, base.optDoSample(false).build(), m, null)
                    .get(0)
                    .text();
            String stop = text.substring(2, 4);
            Generation stopped = g.generate(
                            prompt,
                            GenerationConfig.builder()
                                    .optMaxNewTokens(12)
                                    .optStopStrings(List.of(stop))
                                    .build(),
                            m,
                            null)
                    .get(0);
            assertEquals(Generation.FinishReason.STOP_STRING, stopped.finishReason());
            assertTrue(stopped.text().contains(stop) && stopped.tokens().length < 12, stopped.text());
        }
    }
}
