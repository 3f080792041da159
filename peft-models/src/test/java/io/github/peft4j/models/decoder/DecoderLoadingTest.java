package io.github.peft4j.models.decoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.ModuleTree;
import io.github.peft4j.core.io.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model directories in every layout peft4j reads, and the errors for those it cannot. */
class DecoderLoadingTest {

    @TempDir
    Path tmp;

    private static Path tiny() throws URISyntaxException {
        return RopeScalingParityTest.resource("default");
    }

    private static float[] logits(Path dir) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModel model = Decoders.load(dir, m);
            NDArray ids = m.create(new long[][] {{2, 5, 9, 33, 1, 0, 17}});
            return model.forward(new ParameterStore(m, false), new NDList(ids), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    /** Writes a safetensors file of BF16 tensors by hand (the engine cannot hold BF16 tensors). */
    private static void writeBf16(Path file, Map<String, float[]> values, Map<String, long[]> shapes)
            throws IOException {
        StringBuilder header = new StringBuilder("{");
        long offset = 0;
        for (String k : values.keySet()) {
            long n = values.get(k).length * 2L;
            if (header.length() > 1) {
                header.append(',');
            }
            header.append('"')
                    .append(k)
                    .append("\":{\"dtype\":\"BF16\",\"shape\":")
                    .append(java.util.Arrays.toString(shapes.get(k)).replace(" ", ""))
                    .append(",\"data_offsets\":[")
                    .append(offset)
                    .append(',')
                    .append(offset + n)
                    .append("]}");
            offset += n;
        }
        header.append('}');
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.allocate((int) offset).order(ByteOrder.LITTLE_ENDIAN);
        for (float[] v : values.values()) {
            for (float f : v) {
                data.putShort((short) (Float.floatToIntBits(f) >>> 16));
            }
        }
        try (OutputStream os = Files.newOutputStream(file)) {
            os.write(ByteBuffer.allocate(8)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(h.length)
                    .array());
            os.write(h);
            os.write(data.array());
        }
    }

    @Test
    void bf16ShardedCheckpointLoadsLikeItsFloat32Values() throws Exception {
        Map<String, float[]> rounded = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Path f32 = tmp.resolve("f32");
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModel model = Decoders.load(tiny(), m);
            ModuleTree.namedParameters(model).forEach((k, p) -> {
                float[] v = p.getArray().toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] = Float.intBitsToFloat(Float.floatToIntBits(v[i]) & 0xFFFF0000); // exactly a bf16 value
                }
                rounded.put(k, v);
                shapes.put(k, p.getArray().getShape().getShape());
                io.github.peft4j.core.ParameterValues.copyInto(
                        p.getArray(), m.create(v, p.getArray().getShape()));
            });
            Decoders.save(f32, model);
        }
        Path sharded = tmp.resolve("bf16");
        Files.createDirectories(sharded);
        Files.copy(tiny().resolve("config.json"), sharded.resolve("config.json"));
        List<String> keys = new ArrayList<>(rounded.keySet());
        Map<String, float[]> first = new LinkedHashMap<>();
        Map<String, float[]> second = new LinkedHashMap<>();
        ObjectNode index = Json.MAPPER.createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        for (int i = 0; i < keys.size(); i++) {
            boolean a = i < keys.size() / 2;
            (a ? first : second).put(keys.get(i), rounded.get(keys.get(i)));
            map.put(keys.get(i), a ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        writeBf16(sharded.resolve("model-00001-of-00002.safetensors"), first, shapes);
        writeBf16(sharded.resolve("model-00002-of-00002.safetensors"), second, shapes);
        Files.writeString(sharded.resolve("model.safetensors.index.json"), Json.write(index));
        assertArrayEquals(logits(f32), logits(sharded), 0f, "BF16 shards give the float32 model's logits exactly");

        // a missing shard is named
        Files.delete(sharded.resolve("model-00002-of-00002.safetensors"));
        IOException e = assertThrows(IOException.class, () -> logits(sharded));
        assertTrue(
                e.getMessage().contains("missing shard") && e.getMessage().contains("model-00002-of-00002"),
                e.getMessage());
    }

    @Test
    void unsupportedArchitecturesAndRopeTypesAreNamed() throws Exception {
        Path dir = tmp.resolve("bad");
        Files.createDirectories(dir);
        ObjectNode config = Json.readObject(tiny().resolve("config.json"));
        config.put("model_type", "falcon");
        Files.writeString(dir.resolve("config.json"), Json.write(config));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> logits(dir));
        assertTrue(
                e.getMessage().contains("model_type 'falcon'") && e.getMessage().contains("llama"), e.getMessage());

        config.put("model_type", "llama");
        ((ObjectNode) config.get("rope_parameters")).put("rope_type", "longrope");
        Files.writeString(dir.resolve("config.json"), Json.write(config));
        e = assertThrows(IllegalArgumentException.class, () -> logits(dir));
        assertTrue(e.getMessage().contains("rope_type 'longrope' is not supported"), e.getMessage());

        ((ObjectNode) config.get("rope_parameters")).put("rope_type", "default");
        config.put("hidden_size", 48);
        Files.writeString(dir.resolve("config.json"), Json.write(config));
        Files.copy(tiny().resolve("model.safetensors"), dir.resolve("model.safetensors"));
        e = assertThrows(IllegalArgumentException.class, () -> logits(dir));
        assertTrue(
                e.getMessage().contains("model.embed_tokens.weight")
                        && e.getMessage().contains("expects"),
                e.getMessage());

        IOException missing = assertThrows(IOException.class, () -> logits(tmp.resolve("nowhere")));
        assertTrue(missing.getMessage().contains("config.json"), missing.getMessage());
    }
}
