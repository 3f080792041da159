package io.github.peft4j.methods.loha;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.methods.PythonGolden;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop with Python PEFT's LoHa: an adapter Python wrote for the tiny Llama (r=4, alpha=8 on q_proj, v_proj, o_proj,
 * every factor non-zero; {@code golden/make_golden.py loha}) gives Python's logits adapted and merged and is saved
 * back as Python wrote it ({@link PythonGolden}).
 */
class LohaGoldenTest {

    @TempDir
    Path tmp;

    @Test
    void pythonsLohaGivesPythonsLogitsAndSavesBackTheSame() throws IOException, URISyntaxException {
        // four factors of q_proj, v_proj and o_proj in the tiny Llama's 2 layers
        JsonNode cfg = PythonGolden.check("loha", tmp, 24);
        assertEquals("LOHA", cfg.get("peft_type").asText());
        assertEquals(4, cfg.get("r").asInt());
        assertEquals(8.0, cfg.get("alpha").asDouble());
    }
}
