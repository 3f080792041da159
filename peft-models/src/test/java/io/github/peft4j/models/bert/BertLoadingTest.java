package io.github.peft4j.models.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.core.testing.TestModels;
import io.github.peft4j.models.HfWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading Hugging Face directories: round trips, prefixes, and clear errors for broken ones. */
class BertLoadingTest extends ManagedTest {

    static final BertConfig TINY = new BertConfig(50, 8, 2, 2, 16, 32, 2, 1e-12, 0.1, 0.1, null, 3, 0.02);

    static NDList input(NDManager m) {
        return new NDList(
                m.create(new long[][] {{1, 7, 9, 2, 0}, {1, 3, 2, 0, 0}}),
                m.create(new long[][] {{1, 1, 1, 1, 0}, {1, 1, 1, 0, 0}}),
                m.create(new long[][] {{0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}}));
    }

    static float[] run(ai.djl.nn.Block b, int output) {
        try (NDManager s = manager.newSubManager()) {
            return b.forward(new ParameterStore(s, false), input(s), false)
                    .get(output)
                    .toFloatArray();
        }
    }

    private static Path savedTiny(Path dir, boolean seqcls) throws IOException {
        ai.djl.nn.Block model;
        if (seqcls) {
            BertForSequenceClassification m = new BertForSequenceClassification(TINY);
            m.initialize(manager, 1, 5);
            model = m;
        } else {
            BertModel m = new BertModel(TINY, false);
            m.initialize(manager, 1, 5);
            model = m;
        }
        TestModels.fill(model, 3);
        HfWeights.writeDirectory(dir, model, TINY.toJson(), null);
        return dir;
    }

    @Test
    void savedDirectoryLoadsBackToTheSameOutputs(@TempDir Path tmp) throws IOException {
        BertModel m = new BertModel(TINY, false);
        m.initialize(manager, 1, 5);
        TestModels.fill(m, 3);
        HfWeights.writeDirectory(tmp.resolve("m"), m, TINY.toJson(), null);
        BertModel back = Bert.loadModel(tmp.resolve("m"), manager);
        assertArrayEquals(run(m, 0), run(back, 0), 0f);
        assertEquals(TINY, Bert.readConfig(tmp.resolve("m")));
    }

    @Test
    void taskCheckpointWithBertPrefixLoadsAsEncoderAndAsClassifier(@TempDir Path tmp) throws IOException {
        Path dir = savedTiny(tmp.resolve("cls"), true);
        BertForSequenceClassification cls = Bert.loadForSequenceClassification(dir, 3, manager, false, 0);
        BertModel enc = Bert.loadModel(dir, manager); // keys carry "bert.": stripped
        assertTrue(enc.hasPooler());
        assertArrayEquals(run(cls.getBert(), 0), run(enc, 0), 0f);
        assertEquals(2 * 3, run(cls, 0).length);
    }

    @Test
    void encoderCheckpointNeedsPermissionForFreshHeads(@TempDir Path tmp) throws IOException {
        Path dir = savedTiny(tmp.resolve("enc"), false);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> Bert.loadForSequenceClassification(dir, 3, manager, false, 0));
        assertTrue(
                e.getMessage()
                        .contains("lacks 4 weight(s) of the model: [bert.pooler.dense.weight,"
                                + " bert.pooler.dense.bias, classifier.weight, classifier.bias]"),
                e.getMessage());
        BertForSequenceClassification a = Bert.loadForSequenceClassification(dir, 3, manager, true, 5);
        BertForSequenceClassification b = Bert.loadForSequenceClassification(dir, 3, manager, true, 5);
        BertForSequenceClassification c = Bert.loadForSequenceClassification(dir, 3, manager, true, 6);
        assertArrayEquals(run(a, 0), run(b, 0), 0f, "fresh heads are seeded");
        assertTrue(Math.abs(run(a, 0)[0] - run(c, 0)[0]) > 0);
    }

    @Test
    void missingWeightIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = savedTiny(tmp.resolve("m"), false);
        Map<String, NDArray> t = new LinkedHashMap<>(
                Safetensors.read(dir.resolve("model.safetensors"), manager).tensors());
        t.remove("encoder.layer.1.attention.self.key.weight");
        Safetensors.write(dir.resolve("model.safetensors"), t, Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Bert.loadModel(dir, manager));
        assertTrue(
                e.getMessage()
                        .endsWith("lacks 1 weight(s) of the model: [encoder.layer.1.attention.self.key" + ".weight]"),
                e.getMessage());
    }

    @Test
    void wrongShapeNamesTensorAndBothShapes(@TempDir Path tmp) throws IOException {
        Path dir = savedTiny(tmp.resolve("m"), false);
        ObjectNode cfg = Json.readObject(dir.resolve("config.json"));
        cfg.put("intermediate_size", 32);
        Files.writeString(dir.resolve("config.json"), Json.write(cfg));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Bert.loadModel(dir, manager));
        assertTrue(e.getMessage().startsWith("tensor 'encoder.layer.0.intermediate.dense.weight' in "), e.getMessage());
        assertTrue(e.getMessage().endsWith("has shape (16, 8) but the model expects (32, 8)"), e.getMessage());
    }

    @Test
    void corruptConfigFailsClearly(@TempDir Path tmp) throws IOException {
        Path dir = savedTiny(tmp.resolve("m"), false);
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 8,");
        IOException e = assertThrows(IOException.class, () -> Bert.loadModel(dir, manager));
        assertTrue(e.getMessage().contains("config.json is not valid JSON"), e.getMessage());

        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"bert\", \"hidden_size\": 8}");
        e = assertThrows(IOException.class, () -> Bert.loadModel(dir, manager));
        assertTrue(e.getMessage().endsWith("config.json needs an integer 'vocab_size'; got null"), e.getMessage());

        Files.writeString(dir.resolve("config.json"), Json.write(TINY.toJson().put("num_attention_heads", 3)));
        e = assertThrows(IOException.class, () -> Bert.loadModel(dir, manager));
        assertTrue(
                e.getMessage()
                        .endsWith("BertConfig.hidden_size (8) must be a multiple of num_attention_heads" + " (3)"),
                e.getMessage());
    }

    @Test
    void missingDirectoryFailsClearly(@TempDir Path tmp) {
        IOException e = assertThrows(IOException.class, () -> Bert.loadModel(tmp.resolve("nope"), manager));
        assertTrue(e.getMessage().startsWith("not a Hugging Face model directory: "), e.getMessage());
    }

    @Test
    void legacyLayerNormNamesLoad(@TempDir Path tmp) throws IOException {
        Path dir = savedTiny(tmp.resolve("m"), false);
        BertModel original = Bert.loadModel(dir, manager);
        Map<String, NDArray> legacy = new LinkedHashMap<>();
        Safetensors.read(dir.resolve("model.safetensors"), manager)
                .tensors()
                .forEach((k, v) -> legacy.put(
                        "bert."
                                + k.replace("LayerNorm.weight", "LayerNorm.gamma")
                                        .replace("LayerNorm.bias", "LayerNorm.beta"),
                        v));
        Safetensors.write(dir.resolve("model.safetensors"), legacy, Map.of());
        assertTrue(legacy.containsKey("bert.embeddings.LayerNorm.gamma"));
        assertArrayEquals(run(original, 0), run(Bert.loadModel(dir, manager), 0), 0f);
    }
}
