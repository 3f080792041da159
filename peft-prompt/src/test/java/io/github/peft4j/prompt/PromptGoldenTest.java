package io.github.peft4j.prompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Interop with Python PEFT's prompt learning on the tiny decoders ({@code golden/make_golden.py prompt|prefix}):
 * the adapters Python wrote give Python's logits within 1e-4 on the real tokens of padded batches (grouped-query Llama
 * and GPT-2), change the base model's, and are saved back as Python wrote them.
 */
class PromptGoldenTest {

    @TempDir
    Path tmp;

    private static long[][] rows(NDArray a) {
        long[] flat = a.toType(DataType.INT64, false).toLongArray();
        int n = Math.toIntExact(a.getShape().get(0));
        int t = Math.toIntExact(a.getShape().get(1));
        long[][] out = new long[n][t];
        for (int i = 0; i < n; i++) {
            System.arraycopy(flat, i * t, out[i], 0, t);
        }
        return out;
    }

    private static float[] logits(Block model, NDManager m, long[][] ids, long[][] mask) {
        try (NDManager s = m.newSubManager()) {
            return model.forward(new ParameterStore(s, false), new NDList(s.create(ids), s.create(mask)), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({"prompt, llama", "prompt, gpt2", "prefix, llama", "prefix, gpt2"})
    void pythonsAdapterGivesPythonsLogitsAndSavesBackTheSame(String method, String family)
            throws IOException, URISyntaxException {
        Path golden = Path.of(PromptGoldenTest.class
                .getResource("/golden/" + method + "/" + family)
                .toURI());
        Path dir = TinyDecoders.copy(family, tmp);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> want = Safetensors.read(golden.resolve("expected_logits.safetensors"), m)
                    .tensors();
            long[][] ids = rows(want.get("input_ids"));
            long[][] mask = rows(want.get("attention_mask"));
            CausalLanguageModel base = Decoders.load(dir.resolve("base"), m);
            float[] plain = logits(base, m, ids, mask);
            PromptLearningModel model = PromptLearningModel.load(base, golden);
            float[] got = logits(model, m, ids, mask);
            float[] expected = want.get("adapted").toFloatArray();
            double d = TinyDecoders.maxDiffOnTokens(got, expected, mask, 512);
            assertTrue(d <= 1e-4, method + "/" + family + ": max |Δlogit| " + d);
            assertTrue(TinyDecoders.maxDiffOnTokens(plain, expected, mask, 512) > 1e-2, "the adapter matters");

            Path saved = tmp.resolve("saved");
            model.save(saved);
            Map<String, NDArray> python = Safetensors.read(golden.resolve("adapter_model.safetensors"), m)
                    .tensors();
            Map<String, NDArray> ours = Safetensors.read(saved.resolve("adapter_model.safetensors"), m)
                    .tensors();
            assertEquals(python.keySet(), ours.keySet());
            python.forEach(
                    (k, v) -> assertArrayEquals(v.toFloatArray(), ours.get(k).toFloatArray(), 0f, k));
            JsonNode py =
                    Json.MAPPER.readTree(golden.resolve("adapter_config.json").toFile());
            JsonNode us =
                    Json.MAPPER.readTree(saved.resolve("adapter_config.json").toFile());
            for (String k : new String[] {
                "peft_type",
                "num_virtual_tokens",
                "token_dim",
                "num_attention_heads",
                "num_layers",
                "num_transformer_submodules",
                "task_type"
            }) {
                assertEquals(py.get(k), us.get(k), k);
            }
        }
    }

    @Test
    void anAdapterOfAnotherModelIsRefusedByName() throws IOException, URISyntaxException {
        Path golden = Path.of(
                PromptGoldenTest.class.getResource("/golden/prefix/gpt2").toURI());
        Path dir = TinyDecoders.copy("llama", tmp);
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModel base = Decoders.load(dir.resolve("base"), m);
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> PromptLearningModel.load(base, golden));
            assertTrue(e.getMessage().contains("is it the adapter of another model?"), e.getMessage());
            assertTrue(Files.isDirectory(golden));
        }
    }
}
