package io.github.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Files written by Python PEFT 0.21 (test resources copied from the shared golden set): their configs parse with
 * Python's quirks, their safetensors read, and peft4j's writer reproduces the same tensors.
 */
class LoraInteropTest {

    private static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    static Path golden(String name) {
        try {
            return Path.of(LoraInteropTest.class.getResource("/golden/hf-peft-0.21/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void pythonRsloraConfigWithRegexAndPatternsParses() throws IOException {
        ObjectNode json = Json.readObject(golden("feature-rslora-patterns/adapter_config.json"));
        json.put("a_key_from_a_future_peft", 1); // unknown keys are ignored with a warning
        LoraConfig c = LoraConfig.fromJson(json);
        assertEquals(4, c.rank());
        assertEquals(8, c.alpha());
        assertTrue(c.useRslora());
        assertEquals(ModuleSelector.regex(".*\\.(query|key|value|intermediate\\.dense)"), c.targetModules());
        assertEquals(Map.of("value", 2), c.rankPattern());
        assertEquals(Map.of("value", 4.0), c.alphaPattern());
        assertEquals("FEATURE_EXTRACTION", c.taskType());
        assertTrue(c.targetModules().matches("encoder.layer.0.intermediate.dense"));
        assertTrue(!c.targetModules().matches("encoder.layer.0.output.dense"));
    }

    @Test
    void pythonModulesToSaveDuplicatesAndListOrderAreAccepted() throws IOException {
        LoraConfig c = LoraConfig.fromJson(Json.readObject(golden("seqcls-lora/adapter_config.json")));
        assertEquals(List.of("classifier", "pooler", "score"), c.modulesToSave());
        assertEquals(ModuleSelector.names("value", "query"), c.targetModules());
        assertEquals(0.1, c.dropout());
        assertEquals("SEQ_CLS", c.taskType());
    }

    @Test
    void doraConfigFailsClearly() throws IOException {
        ObjectNode json = Json.readObject(golden("seqcls-dora/adapter_config.json"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraConfig.fromJson(json));
        assertTrue(e.getMessage().startsWith("LoraConfig.use_dora = true is not supported by peft4j"),
                e.getMessage());
    }

    @Test
    void pythonSafetensorsReadsAndRewritesToTheSameTensors(@TempDir Path tmp) throws IOException {
        Safetensors.Contents py = Safetensors.read(golden("feature-rslora-patterns/adapter_model.safetensors"),
                manager);
        assertEquals(Map.of("format", "pt"), py.metadata());
        assertEquals(48, py.tensors().size()); // 6 layers × (q, k, v, intermediate.dense) × (A, B)
        String q = "base_model.model.encoder.layer.0.attention.self.query.";
        String v = "base_model.model.encoder.layer.0.attention.self.value.";
        assertEquals(new ai.djl.ndarray.types.Shape(4, 384), py.tensors().get(q + "lora_A.weight").getShape());
        assertEquals(new ai.djl.ndarray.types.Shape(384, 4), py.tensors().get(q + "lora_B.weight").getShape());
        assertEquals(new ai.djl.ndarray.types.Shape(2, 384), py.tensors().get(v + "lora_A.weight").getShape());
        assertEquals(new ai.djl.ndarray.types.Shape(1536, 4), py.tensors()
                .get("base_model.model.encoder.layer.0.intermediate.dense.lora_B.weight").getShape());

        Path out = tmp.resolve("rewritten.safetensors");
        Safetensors.write(out, py.tensors(), Map.of("format", "pt"));
        Safetensors.Contents back = Safetensors.read(out, manager);
        assertEquals(py.tensors().keySet(), new java.util.TreeSet<>(back.tensors().keySet()));
        for (Map.Entry<String, NDArray> e : py.tensors().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), back.tensors().get(e.getKey()).toFloatArray(), 0f,
                    e.getKey());
        }
    }
}
