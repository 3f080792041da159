package io.github.peft4j.methods.lntuning;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.methods.PythonGolden;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop with Python PEFT's LayerNorm tuning: an adapter Python wrote for the tiny Llama (every RMSNorm: the two of
 * each layer and the final norm; the copies' weights seeded away from the base; {@code golden/make_golden.py
 * ln_tuning}) gives Python's logits adapted and merged and is saved back as Python wrote it ({@link PythonGolden}).
 */
class LnTuningGoldenTest {

    @TempDir
    Path tmp;

    @Test
    void pythonsLnTuningGivesPythonsLogitsAndSavesBackTheSame() throws IOException, URISyntaxException {
        // input_layernorm and post_attention_layernorm of 2 layers, and model.norm
        JsonNode cfg = PythonGolden.check("ln_tuning", tmp, 5);
        assertEquals("LN_TUNING", cfg.get("peft_type").asText());
    }
}
