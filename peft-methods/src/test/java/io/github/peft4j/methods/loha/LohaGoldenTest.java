package io.github.peft4j.methods.loha;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop with Python PEFT's LoHa: an adapter Python wrote for the tiny Llama (r=4, alpha=8 on q_proj, v_proj, o_proj,
 * every factor non-zero; {@code golden/loha/make_golden.py}) loads in peft4j and gives Python's logits, with the
 * adapter and merged, and peft4j saves it back with Python's keys, shapes and values.
 */
class LohaGoldenTest {

    @TempDir
    Path tmp;

    private static Path golden() throws URISyntaxException {
        return Path.of(LohaGoldenTest.class.getResource("/golden/loha/llama").toURI());
    }

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

    @Test
    void pythonsLohaGivesPythonsLogitsAndSavesBackTheSame() throws IOException, URISyntaxException {
        Path dir = TinyDecoders.copy("llama", tmp);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> want = Safetensors.read(golden().resolve("expected_logits.safetensors"), m)
                    .tensors();
            long[][] ids = rows(want.get("input_ids"));
            long[][] mask = rows(want.get("attention_mask"));
            PeftModel peft = PeftModel.builder()
                    .setBaseModel(Decoders.load(dir.resolve("base"), m))
                    .build();
            peft.loadAdapter(golden(), PeftModel.DEFAULT_ADAPTER);
            for (String key : new String[] {"adapted", "merged"}) {
                if (key.equals("merged")) {
                    peft.merge();
                }
                try (NDManager s = m.newSubManager()) {
                    NDArray logits = peft.forward(
                                    new ParameterStore(s, false), new NDList(s.create(ids), s.create(mask)), false)
                            .singletonOrThrow();
                    double d = TinyDecoders.maxDiffOnTokens(
                            logits.toFloatArray(), want.get(key).toFloatArray(), mask, 512);
                    assertTrue(d <= 1e-4, key + ": max |Δlogit| " + d);
                }
            }
            peft.unmerge();
            // the base without the adapter differs: the scales matter
            peft.disableAdapters();
            try (NDManager s = m.newSubManager()) {
                NDArray logits = peft.forward(
                                new ParameterStore(s, false), new NDList(s.create(ids), s.create(mask)), false)
                        .singletonOrThrow();
                double d = TinyDecoders.maxDiffOnTokens(
                        logits.toFloatArray(), want.get("adapted").toFloatArray(), mask, 512);
                assertTrue(d > 1e-2, "the adapter changes the logits: " + d);
            }
            peft.enableAdapters();

            Path saved = tmp.resolve("saved");
            peft.saveAdapters(saved);
            Map<String, NDArray> python = Safetensors.read(golden().resolve("adapter_model.safetensors"), m)
                    .tensors();
            Map<String, NDArray> ours = Safetensors.read(saved.resolve("adapter_model.safetensors"), m)
                    .tensors();
            assertEquals(python.keySet(), ours.keySet());
            python.forEach((k, v) -> {
                assertEquals(v.getShape(), ours.get(k).getShape(), k);
                assertArrayEquals(v.toFloatArray(), ours.get(k).toFloatArray(), 0f, k);
            });
            assertEquals(24, ours.size(), "four factors of q_proj, v_proj and o_proj in the tiny Llama's 2 layers");
            JsonNode cfg =
                    Json.MAPPER.readTree(saved.resolve("adapter_config.json").toFile());
            assertEquals("LOHA", cfg.get("peft_type").asText());
            assertEquals(4, cfg.get("r").asInt());
        }
    }
}
