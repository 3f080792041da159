package io.github.peft4j.methods.lokr;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.methods.PythonGolden;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interop with Python PEFT's LoKr: an adapter Python wrote for the tiny Llama (r=4, alpha=8, decompose_both on q_proj,
 * v_proj with full factors and down_proj with both factors decomposed; every factor non-zero;
 * {@code golden/make_golden.py lokr}) gives Python's logits adapted and merged and is saved back as Python wrote it
 * ({@link PythonGolden}).
 */
class LokrGoldenTest {

    @TempDir
    Path tmp;

    @Test
    void pythonsLokrGivesPythonsLogitsAndSavesBackTheSame() throws IOException, URISyntaxException {
        // q_proj, v_proj: lokr_w1, lokr_w2; down_proj: lokr_w1_a/b, lokr_w2_a/b; in 2 layers
        JsonNode cfg = PythonGolden.check("lokr", tmp, 16);
        assertEquals("LOKR", cfg.get("peft_type").asText());
        assertEquals(4, cfg.get("r").asInt());
        assertEquals(true, cfg.get("decompose_both").asBoolean());
    }

    @Test
    void factorizationIsPythons() {
        // the examples of Python's docstring, and the tiny Llama's widths
        assertArrayEquals(new int[] {16, 16}, LokrLayer.factorization(256, -1));
        assertArrayEquals(new int[] {8, 16}, LokrLayer.factorization(128, -1));
        assertArrayEquals(new int[] {1, 127}, LokrLayer.factorization(127, -1));
        assertArrayEquals(new int[] {4, 32}, LokrLayer.factorization(128, 4));
        assertArrayEquals(new int[] {10, 16}, LokrLayer.factorization(160, -1));
        assertArrayEquals(new int[] {4, 8}, LokrLayer.factorization(32, -1));
        assertArrayEquals(new int[] {16, 24}, LokrLayer.factorization(384, -1));
        assertArrayEquals(new int[] {3, 128}, LokrLayer.factorization(384, 3));
    }
}
