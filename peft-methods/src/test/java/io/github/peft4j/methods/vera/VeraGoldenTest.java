package io.github.peft4j.methods.vera;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.methods.PythonGolden;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop with Python PEFT's VeRA: an adapter Python wrote for the tiny Llama (r=16, projection_prng_key=42 on q_proj,
 * v_proj, up_proj, down_proj, λ seeded non-zero; {@code golden/make_golden.py vera}) gives Python's logits adapted
 * and merged and is saved back as Python wrote it; the shared projections peft4j draws from the key are Python's to
 * the bit, so the same adapter without them ({@code save_projection: false}) gives the same logits.
 */
class VeraGoldenTest {

    @TempDir
    Path tmp;

    private static Path golden() throws URISyntaxException {
        return Path.of(VeraGoldenTest.class.getResource("/golden/vera/llama").toURI());
    }

    @Test
    void pythonsVeraGivesPythonsLogitsAndSavesBackTheSame() throws IOException, URISyntaxException {
        // λ_b and λ_d of 4 modules in 2 layers, and the shared vera_A / vera_B
        JsonNode cfg = PythonGolden.check("vera", tmp, 18);
        assertEquals("VERA", cfg.get("peft_type").asText());
        assertEquals(16, cfg.get("r").asInt());
        assertEquals(42, cfg.get("projection_prng_key").asLong());
    }

    @Test
    void projectionsDrawnFromTheKeyArePythonsBitForBit() throws IOException, URISyntaxException {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> python = Safetensors.read(golden().resolve("adapter_model.safetensors"), m)
                    .tensors();
            TorchUniform g = new TorchUniform(42);
            // A [16, 160] then B [160, 16] from one generator, as Python's _init_vera_A_vera_B
            assertArrayEquals(python.get("base_model.vera_A").toFloatArray(), g.kaiming(16, 160), 0f);
            assertArrayEquals(python.get("base_model.vera_B").toFloatArray(), g.kaiming(160, 16), 0f);
            assertFalse(python.get("base_model.vera_A").toFloatArray()[0] == new TorchUniform(43).kaiming(16, 160)[0]);
        }
    }

    @Test
    void anAdapterSavedWithoutProjectionsRegeneratesThemFromTheKey() throws IOException, URISyntaxException {
        Path dir = Files.createDirectories(tmp.resolve("golden/vera/llama"));
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors =
                    new LinkedHashMap<>(Safetensors.read(golden().resolve("adapter_model.safetensors"), m)
                            .tensors());
            tensors.remove("base_model.vera_A");
            tensors.remove("base_model.vera_B");
            Safetensors.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
        }
        ObjectNode cfg = Json.readObject(golden().resolve("adapter_config.json"));
        cfg.put("save_projection", false);
        Files.writeString(dir.resolve("adapter_config.json"), Json.write(cfg));
        Files.copy(golden().resolve("expected_logits.safetensors"), dir.resolve("expected_logits.safetensors"));
        // the same logits as with Python's projections; saved back without them
        PythonGolden.check(dir, tmp.resolve("work"), 16);
    }
}
