package io.github.peft4j.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Task vectors on model files: fine-tuned − base, applied to a base again and to another one, LiNeS on them. */
class TaskVectorTest {

    /** The tensors of a small "BertModel": embeddings, three numbered layers, an integer buffer. */
    private static Map<String, float[]> baseWeights(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, float[]> w = new LinkedHashMap<>();
        for (String k : new String[] {
            "embeddings.word_embeddings.weight",
            "encoder.layer.0.attention.self.query.weight",
            "encoder.layer.1.attention.self.query.weight",
            "encoder.layer.2.attention.self.query.weight"
        }) {
            float[] v = new float[12];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) r.nextGaussian();
            }
            w.put(k, v);
        }
        return w;
    }

    private static void write(Path dir, Map<String, float[]> w, ObjectNode config) throws IOException {
        Files.createDirectories(dir);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> t = new TreeMap<>();
            w.forEach((k, v) -> t.put(k, m.create(v, new Shape(3, 4))));
            String prefix = w.keySet().stream().anyMatch(k -> k.startsWith("bert.")) ? "bert." : "";
            t.put(prefix + "embeddings.position_ids", m.create(new long[] {0, 1, 2}));
            Safetensors.write(dir.resolve("model.safetensors"), t, Map.of("format", "pt"));
        }
        Files.writeString(dir.resolve("config.json"), Json.write(config));
        Files.writeString(dir.resolve("tokenizer.json"), "{\"version\": \"1.0\"}");
    }

    private static Map<String, float[]> read(Path dir) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, float[]> out = new TreeMap<>();
            Safetensors.read(dir.resolve("model.safetensors"), m)
                    .tensors()
                    .forEach((k, a) -> out.put(
                            k,
                            a.toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
                                    .toFloatArray()));
            return out;
        }
    }

    /** A base, a fine-tune of it with "bert." keys and a head, and a second base of the same architecture. */
    private static Path[] models(Path dir) throws IOException {
        ObjectNode baseConfig =
                Json.MAPPER.createObjectNode().put("model_type", "bert").put("num_hidden_layers", 3);
        write(dir.resolve("base"), baseWeights(1), baseConfig);
        Map<String, float[]> ft = new LinkedHashMap<>();
        SplittableRandom r = new SplittableRandom(2);
        baseWeights(1).forEach((k, v) -> {
            float[] u = v.clone();
            for (int i = 0; i < u.length; i++) {
                u[i] += (float) (0.1 * r.nextGaussian());
            }
            ft.put("bert." + k, u);
        });
        ft.put("classifier.weight", new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        ObjectNode ftConfig = baseConfig.deepCopy();
        ftConfig.putArray("architectures").add("BertForSequenceClassification");
        ftConfig.putObject("id2label").put("0", "ham").put("1", "spam");
        write(dir.resolve("ft"), ft, ftConfig);
        ObjectNode newConfig = baseConfig.deepCopy().put("version", "v2");
        write(dir.resolve("base2"), baseWeights(3), newConfig);
        return new Path[] {dir.resolve("base"), dir.resolve("ft"), dir.resolve("base2")};
    }

    @Test
    void theVectorIsFineTunedMinusBaseUnderThePrefix(@TempDir Path dir) throws IOException {
        Path[] m = models(dir);
        TaskVector v = TaskVector.between(m[0], m[1]);
        Map<String, float[]> base = read(m[0]);
        Map<String, float[]> ft = read(m[1]);
        assertEquals(4, v.deltas().size());
        assertTrue(
                v.deltas().keySet().stream().allMatch(k -> k.startsWith("bert.")),
                v.deltas().keySet().toString());
        for (Map.Entry<String, LoraAdapter.Tensor> e : v.deltas().entrySet()) {
            float[] b = base.get(e.getKey().substring("bert.".length()));
            float[] f = ft.get(e.getKey());
            for (int i = 0; i < b.length; i++) {
                assertEquals(f[i] - b[i], e.getValue().values()[i], 0f, e.getKey());
            }
        }
        assertEquals(
                Map.of("classifier.weight", 12),
                Map.of(
                        v.added().keySet().iterator().next(),
                        v.added().values().iterator().next().values().length));
        assertFalse(v.deltas().containsKey("bert.embeddings.position_ids"), "integer buffers are not updates");
    }

    @Test
    void appliedToItsOwnBaseItGivesTheFineTunedModelBack(@TempDir Path dir) throws IOException {
        Path[] m = models(dir);
        TaskVector.between(m[0], m[1]).applyTo(m[0], 1.0, dir.resolve("again"));
        Map<String, float[]> ft = read(m[1]);
        Map<String, float[]> again = read(dir.resolve("again"));
        assertEquals(ft.keySet(), again.keySet());
        ft.forEach((k, v) -> assertArrayEquals(v, again.get(k), 1e-6f, k));
        ObjectNode config = Json.readObject(dir.resolve("again/config.json"));
        assertEquals(
                "BertForSequenceClassification",
                config.path("architectures").get(0).asText());
        assertEquals("spam", config.path("id2label").path("1").asText());
        assertTrue(Files.isRegularFile(dir.resolve("again/tokenizer.json")));
    }

    @Test
    void transferAddsTheScaledUpdateToAnotherBase(@TempDir Path dir) throws IOException {
        Path[] m = models(dir);
        TaskVector v = TaskVector.between(m[0], m[1]);
        v.save(dir.resolve("vector"));
        TaskVector back = TaskVector.read(dir.resolve("vector"));
        assertEquals(v.deltas().keySet(), back.deltas().keySet());
        assertEquals(v.norm(), back.norm(), 1e-9);
        back.applyTo(m[2], 0.5, dir.resolve("transferred"));
        Map<String, float[]> base2 = read(m[2]);
        Map<String, float[]> out = read(dir.resolve("transferred"));
        for (Map.Entry<String, LoraAdapter.Tensor> e : v.deltas().entrySet()) {
            float[] b = base2.get(e.getKey().substring("bert.".length()));
            for (int i = 0; i < b.length; i++) {
                assertEquals(b[i] + 0.5f * e.getValue().values()[i], out.get(e.getKey())[i], 1e-6f, e.getKey());
            }
        }
        assertArrayEquals(v.added().get("classifier.weight").values(), out.get("classifier.weight"), 0f);
        assertArrayEquals(new float[] {0, 1, 2}, out.get("bert.embeddings.position_ids"), 0f);
        assertEquals(
                "v2",
                Json.readObject(dir.resolve("transferred/config.json"))
                        .path("version")
                        .asText());
    }

    @Test
    void linesScalesEachLayerByItsDepth(@TempDir Path dir) throws IOException {
        Path[] m = models(dir);
        TaskVector v = TaskVector.between(m[0], m[1]);
        Lines lines = new Lines(0.25, 0.5, 3);
        TaskVector scaled = lines.apply(v);
        Map<String, Double> expected = Map.of(
                "bert.embeddings.word_embeddings.weight", 0.25,
                "bert.encoder.layer.0.attention.self.query.weight", 0.25,
                "bert.encoder.layer.1.attention.self.query.weight", 0.5,
                "bert.encoder.layer.2.attention.self.query.weight", 0.75);
        expected.forEach((k, s) -> {
            float[] d = v.deltas().get(k).values();
            for (int i = 0; i < d.length; i++) {
                assertEquals(s * d[i], scaled.deltas().get(k).values()[i], 1e-7, k);
            }
        });
        assertArrayEquals(
                v.added().get("classifier.weight").values(),
                scaled.added().get("classifier.weight").values());
    }

    @Test
    void otherArchitecturesAreRefusedByName(@TempDir Path dir) throws IOException {
        Path[] m = models(dir);
        Map<String, float[]> odd = new LinkedHashMap<>();
        odd.put("something.else.weight", new float[12]);
        write(dir.resolve("odd"), odd, Json.MAPPER.createObjectNode());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> TaskVector.between(dir.resolve("odd"), m[1]));
        assertTrue(e.getMessage().contains("same architecture"), e.getMessage());
        TaskVector v = TaskVector.between(m[0], m[1]);
        IllegalArgumentException missing = assertThrows(
                IllegalArgumentException.class, () -> v.applyTo(dir.resolve("odd"), 1, dir.resolve("out")));
        assertTrue(missing.getMessage().contains("has no tensor"), missing.getMessage());
        assertFalse(Files.exists(dir.resolve("out")), "nothing is written when the base does not fit");
    }
}
