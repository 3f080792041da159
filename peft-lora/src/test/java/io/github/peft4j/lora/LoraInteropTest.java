package io.github.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.core.testing.ManagedTest;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files written by Python PEFT 0.21 (test resources copied from the shared golden set): their configs parse with
 * Python's quirks, their safetensors read, and peft4j's writer reproduces the same tensors.
 */
class LoraInteropTest extends ManagedTest {

    static Path golden(String name) {
        try {
            return Path.of(LoraInteropTest.class
                    .getResource("/golden/hf-peft-0.21/" + name)
                    .toURI());
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
        assertEquals(
                ModuleSelector.regex(".*\\.(query|key|value|intermediate\\.dense)"),
                c.targets().targetModules());
        assertEquals(Map.of("value", 2), c.rankPattern());
        assertEquals(Map.of("value", 4.0), c.alphaPattern());
        assertEquals("FEATURE_EXTRACTION", c.targets().taskType());
        assertTrue(c.targets().targetModules().matches("encoder.layer.0.intermediate.dense"));
        assertTrue(!c.targets().targetModules().matches("encoder.layer.0.output.dense"));
    }

    @Test
    void pythonModulesToSaveDuplicatesAndListOrderAreAccepted() throws IOException {
        LoraConfig c = LoraConfig.fromJson(Json.readObject(golden("seqcls-lora/adapter_config.json")));
        assertEquals(List.of("classifier", "pooler", "score"), c.targets().modulesToSave());
        assertEquals(ModuleSelector.names("value", "query"), c.targets().targetModules());
        assertEquals(0.1, c.dropout());
        assertEquals("SEQ_CLS", c.targets().taskType());
    }

    @Test
    void doraConfigParses() throws IOException {
        LoraConfig c = LoraConfig.fromJson(Json.readObject(golden("seqcls-dora/adapter_config.json")));
        assertTrue(c.useDora());
        assertEquals(
                ModuleSelector.names("dense", "query", "value"), c.targets().targetModules());
        assertTrue(c.toJson().get("use_dora").asBoolean());
    }

    @Test
    void pythonSafetensorsReadsAndRewritesToTheSameTensors(@TempDir Path tmp) throws IOException {
        Safetensors.Contents py =
                Safetensors.read(golden("feature-rslora-patterns/adapter_model.safetensors"), manager);
        assertEquals(Map.of("format", "pt"), py.metadata());
        assertEquals(48, py.tensors().size()); // 6 layers × (q, k, v, intermediate.dense) × (A, B)
        String q = "base_model.model.encoder.layer.0.attention.self.query.";
        String v = "base_model.model.encoder.layer.0.attention.self.value.";
        assertEquals(
                new ai.djl.ndarray.types.Shape(4, 384),
                py.tensors().get(q + "lora_A.weight").getShape());
        assertEquals(
                new ai.djl.ndarray.types.Shape(384, 4),
                py.tensors().get(q + "lora_B.weight").getShape());
        assertEquals(
                new ai.djl.ndarray.types.Shape(2, 384),
                py.tensors().get(v + "lora_A.weight").getShape());
        assertEquals(
                new ai.djl.ndarray.types.Shape(1536, 4),
                py.tensors()
                        .get("base_model.model.encoder.layer.0.intermediate.dense.lora_B.weight")
                        .getShape());

        Path out = tmp.resolve("rewritten.safetensors");
        Safetensors.write(out, py.tensors(), Map.of("format", "pt"));
        Safetensors.Contents back = Safetensors.read(out, manager);
        assertEquals(
                py.tensors().keySet(), new java.util.TreeSet<>(back.tensors().keySet()));
        for (Map.Entry<String, NDArray> e : py.tensors().entrySet()) {
            assertArrayEquals(
                    e.getValue().toFloatArray(), back.tensors().get(e.getKey()).toFloatArray(), 0f, e.getKey());
        }
    }

    @Test
    void savedKeysAndShapesFollowTheHuggingFaceLayout(@TempDir Path tmp) throws IOException {
        io.github.peft4j.core.PeftModel m = io.github.peft4j.core.PeftModel.builder()
                .setBaseModel(io.github.peft4j.core.testing.TestModels.tinyEncoder(
                        manager, 2, ai.djl.ndarray.types.DataType.FLOAT32))
                .setConfig(LoraConfig.builder()
                        .setTargetModules("query")
                        .optRank(8)
                        .optAlpha(16)
                        .optModulesToSave("classifier")
                        .optTaskType("SEQ_CLS")
                        .build())
                .build();
        m.saveAdapters(tmp);
        Safetensors.Contents c = Safetensors.read(tmp.resolve("adapter_model.safetensors"), manager);
        assertEquals(Map.of("format", "pt"), c.metadata());
        Map<String, List<Long>> shapes = new java.util.TreeMap<>();
        c.tensors()
                .forEach((k, v) -> shapes.put(
                        k,
                        java.util.Arrays.stream(v.getShape().getShape())
                                .boxed()
                                .collect(java.util.stream.Collectors.toList())));
        assertEquals(
                Map.of(
                        "base_model.model.encoder.0.query.lora_A.weight", List.of(8L, 16L),
                        "base_model.model.encoder.0.query.lora_B.weight", List.of(16L, 8L),
                        "base_model.model.encoder.1.query.lora_A.weight", List.of(8L, 16L),
                        "base_model.model.encoder.1.query.lora_B.weight", List.of(16L, 8L),
                        "base_model.model.classifier.weight", List.of(3L, 16L),
                        "base_model.model.classifier.bias", List.of(3L)),
                shapes);
        ObjectNode cfg = Json.readObject(tmp.resolve("adapter_config.json"));
        assertEquals("LORA", cfg.get("peft_type").asText());
        assertEquals(8, cfg.get("r").asInt());
        assertEquals(16, cfg.get("lora_alpha").asInt());
        assertTrue(cfg.get("inference_mode").asBoolean());
        assertEquals("[\"query\"]", cfg.get("target_modules").toString());
        assertEquals("[\"classifier\"]", cfg.get("modules_to_save").toString());
    }

    @Test
    void configWrittenByPythonLoadsIntoAModel(@TempDir Path tmp) throws IOException {
        // Python's seqcls-lora config verbatim (unknown keys, duplicate modules_to_save, "pooler"/"score" that this
        // model lacks), with tensors for the tiny encoder's query/value layers and its classifier
        java.nio.file.Files.copy(golden("seqcls-lora/adapter_config.json"), tmp.resolve("adapter_config.json"));
        Map<String, NDArray> t = new java.util.LinkedHashMap<>();
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        for (String layer : List.of("encoder.0.query", "encoder.0.value", "encoder.1.query", "encoder.1.value")) {
            t.put("base_model.model." + layer + ".lora_A.weight", rand(r, 8, 16));
            t.put("base_model.model." + layer + ".lora_B.weight", rand(r, 16, 8));
        }
        t.put("base_model.model.classifier.weight", rand(r, 3, 16));
        t.put("base_model.model.classifier.bias", rand(r, 3));
        Safetensors.write(tmp.resolve("adapter_model.safetensors"), t, Map.of("format", "pt"));

        io.github.peft4j.core.PeftModel m = io.github.peft4j.core.PeftModel.builder()
                .setBaseModel(io.github.peft4j.core.testing.TestModels.tinyEncoder(
                        manager, 2, ai.djl.ndarray.types.DataType.FLOAT32))
                .build();
        m.loadAdapter(tmp, "python");
        LoraLayer q = (LoraLayer) m.getLayerAdapter("python", "encoder.1.query");
        assertEquals(2.0, q.getScaling()); // alpha 16 / r 8
        assertArrayEquals(
                t.get("base_model.model.encoder.1.query.lora_B.weight").toFloatArray(),
                q.getLoraB().getArray().toFloatArray(),
                0f);
        Map<String, NDArray> loaded = m.getAdapterTensors("python");
        assertEquals(new java.util.TreeSet<>(t.keySet()), loaded.keySet());
        assertArrayEquals(
                t.get("base_model.model.classifier.bias").toFloatArray(),
                loaded.get("base_model.model.classifier.bias").toFloatArray(),
                0f);
    }

    private static NDArray rand(java.util.SplittableRandom r, long... shape) {
        ai.djl.ndarray.types.Shape s = new ai.djl.ndarray.types.Shape(shape);
        float[] v = new float[Math.toIntExact(s.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return manager.create(v, s);
    }
}
