package io.github.peft4j.methods.ia3;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.methods.PythonGolden;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop with Python PEFT's IA3: an adapter Python wrote for the tiny Llama (k_proj, v_proj, and down_proj as a
 * feed-forward module; {@code golden/make_golden.py ia3}) gives Python's logits adapted and merged and is saved back
 * as Python wrote it ({@link PythonGolden}).
 */
class Ia3GoldenTest {

    @TempDir
    Path tmp;

    @Test
    void pythonsAdapterGivesPythonsLogitsAndSavesBackTheSame() throws IOException, URISyntaxException {
        // k_proj, v_proj and down_proj of the tiny Llama's 2 layers
        JsonNode cfg = PythonGolden.check("ia3", tmp, 6);
        assertEquals("IA3", cfg.get("peft_type").asText());
        assertEquals("down_proj", cfg.get("feedforward_modules").get(0).asText());
    }
}
