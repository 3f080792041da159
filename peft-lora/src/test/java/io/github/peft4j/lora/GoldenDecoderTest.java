package io.github.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.models.decoder.Generation;
import io.github.peft4j.models.decoder.GenerationConfig;
import io.github.peft4j.models.decoder.Generator;
import io.github.peft4j.testing.TinyDecoders;
import io.github.peft4j.train.CausalLmLoss;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The decoder interop proof: LoRA adapters Python's PEFT trained on the tiny Llama, Qwen2 (tied embeddings) and GPT-2
 * ({@code fan_in_fan_out}) load in peft4j and reproduce Python's logits and loss, merged and unmerged, and peft4j saves
 * them back with Python's keys, values and {@code fan_in_fan_out}.
 */
class GoldenDecoderTest {

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "gpt2"})
    void pythonLoraReproducesLogitsAndLoss(String family) throws IOException {
        Path dir = TinyDecoders.copy(family, tmp);
        TinyDecoders.Expected e = TinyDecoders.expected(dir);
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel peft = PeftModel.builder()
                    .setBaseModel(Decoders.load(dir.resolve("base"), m))
                    .build();
            peft.loadAdapter(dir.resolve("lora"), "default");
            for (boolean merged : new boolean[] {false, true}) {
                if (merged) {
                    peft.merge();
                }
                try (NDManager s = m.newSubManager()) {
                    NDArray ids = s.create(e.inputIds());
                    NDArray logits = peft.forward(
                                    new ParameterStore(s, false), new NDList(ids, s.create(e.attentionMask())), false)
                            .singletonOrThrow();
                    double d =
                            TinyDecoders.maxDiffOnTokens(logits.toFloatArray(), e.loraLogits(), e.attentionMask(), 512);
                    assertTrue(d <= 1e-4, family + (merged ? " merged" : "") + ": max |Δlogit| " + d);
                    double loss = new CausalLmLoss()
                            .evaluate(new NDList(s.create(e.labels())), new NDList(logits))
                            .getFloat();
                    assertEquals(e.loraLoss(), loss, 1e-5 * e.loraLoss(), family + " loss");
                }
            }
            peft.unmerge();
            // greedy continuation of row 0's first 5 tokens: Python's tokens, with and without the KV cache, and
            // when batched (left-padded) beside a longer prompt
            long[] prompt = java.util.Arrays.copyOf(e.inputIds()[0], 5);
            long[] want = java.util.Arrays.copyOfRange(e.greedy(), 5, e.greedy().length);
            Generator gen = new Generator(peft, ((CausalLanguageModel) peft.getBaseModel()).getConfig(), null);
            for (boolean cache : new boolean[] {true, false}) {
                GenerationConfig g = GenerationConfig.builder()
                        .optMaxNewTokens(want.length)
                        .optUseCache(cache)
                        .build();
                List<Generation> single = gen.generate(List.of(prompt), g, m, null);
                assertArrayEquals(want, single.get(0).tokens(), family + " greedy, cache " + cache);
                List<Generation> batch = gen.generate(List.of(prompt, e.inputIds()[1]), g, m, null);
                assertArrayEquals(want, batch.get(0).tokens(), family + " greedy left-padded, cache " + cache);
            }
            Path out = tmp.resolve("saved-" + family);
            peft.saveAdapters(out);
            ObjectNode config = Json.readObject(out.resolve("adapter_config.json"));
            assertEquals("gpt2".equals(family), config.get("fan_in_fan_out").asBoolean(), "fan_in_fan_out");
            Map<String, NDArray> py = Safetensors.read(dir.resolve("lora/adapter_model.safetensors"), m)
                    .tensors();
            Map<String, NDArray> ours = Safetensors.read(out.resolve("adapter_model.safetensors"), m)
                    .tensors();
            assertEquals(new TreeSet<>(py.keySet()), new TreeSet<>(ours.keySet()));
            for (String k : py.keySet()) {
                assertArrayEquals(py.get(k).toFloatArray(), ours.get(k).toFloatArray(), 0f, k);
            }
        }
    }
}
