package io.github.peft4j.models.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.io.Json;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every supported rope type (and Mistral's sliding window) gives transformers' logits on a 40-token input, longer than
 * the models' 16 positions so that dynamic NTK and YaRN scaling act. Files: {@code rope/generate.py}.
 */
class RopeScalingParityTest {

    static Path resource(String name) throws URISyntaxException {
        return Path.of(RopeScalingParityTest.class.getResource("/rope/" + name).toURI());
    }

    @ParameterizedTest
    @ValueSource(strings = {"default", "linear", "dynamic", "yarn", "llama3", "mistral", "qwen3"})
    void logitsMatchTransformers(String name) throws IOException, URISyntaxException {
        Path dir = resource(name);
        JsonNode expected = Json.MAPPER.readTree(dir.resolve("expected.json").toFile());
        long[][] ids = Json.MAPPER.treeToValue(expected.get("input_ids"), long[][].class);
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModel model = Decoders.load(dir, m);
            assertEquals(
                    "mistral".equals(name) || "qwen3".equals(name) ? "default" : name,
                    model.getConfig().rope().type());
            NDArray logits = model.forward(new ParameterStore(m, false), new NDList(m.create(ids)), false)
                    .singletonOrThrow();
            float[] got = logits.toFloatArray();
            JsonNode want = expected.get("logits");
            assertEquals(want.size(), got.length);
            double max = 0;
            for (int i = 0; i < got.length; i++) {
                max = Math.max(max, Math.abs(got[i] - want.get(i).asDouble()));
            }
            assertTrue(max <= 1e-4, name + ": max |Δlogit| " + max);
        }
    }
}
