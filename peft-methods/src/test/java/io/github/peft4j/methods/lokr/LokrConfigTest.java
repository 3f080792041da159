package io.github.peft4j.methods.lokr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import org.junit.jupiter.api.Test;

/** LoKr's {@code init_weights} takes Python's three values, and unsupported settings are refused by name. */
class LokrConfigTest {

    private static ObjectNode json(String extra) throws Exception {
        return (ObjectNode)
                Json.MAPPER.readTree("{\"peft_type\": \"LOKR\", \"target_modules\": [\"q\"], \"r\": 4" + extra + "}");
    }

    @Test
    void initWeightsReadsTrueFalseAndLycorisAndWritesThemBack() throws Exception {
        assertEquals(LokrInit.DEFAULT, LokrConfig.fromJson(json("")).init());
        assertEquals(
                LokrInit.RANDOM,
                LokrConfig.fromJson(json(", \"init_weights\": false")).init());
        LokrConfig lycoris = LokrConfig.fromJson(json(", \"init_weights\": \"lycoris\""));
        assertEquals(LokrInit.LYCORIS, lycoris.init());
        assertEquals("lycoris", lycoris.toJson().get("init_weights").asText());
        assertEquals(lycoris, LokrConfig.fromJson(lycoris.toJson()));
    }

    @Test
    void unsupportedSettingsAreRefusedByName() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> LokrConfig.fromJson(json(", \"rank_dropout\": 0.1")));
        assertTrue(e.getMessage().contains("LokrConfig.rank_dropout"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LokrConfig.fromJson(json(", \"init_weights\": \"x\"")));
        assertTrue(e.getMessage().contains("init_weights must be true, false or \"lycoris\""), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LokrConfig.fromJson(json(", \"decompose_factor\": 0")));
        assertTrue(e.getMessage().contains("decompose_factor"), e.getMessage());
    }
}
