package io.github.peft4j.fuzz;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.testing.TinyBert;
import io.github.peft4j.testing.TinyDecoders;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The seed inputs of each target: valid files of every kind the parsers read (the tiny decoders' configs, tokenizers
 * and Python-written LoRA adapter, a safetensors file of every dtype, an adapter config of every method, a small ONNX
 * graph), from which the fuzzer mutates. A target's input is the file's bytes, preceded by one selector byte where the
 * target reads several kinds ({@link ModelConfigTarget}, {@link AdapterTarget}).
 */
public final class Seeds {

    private Seeds() {}

    private static Path tinyLlama() {
        try {
            return TinyDecoders.copy("llama", Files.createTempDirectory("peft4j-seeds"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] prefixed(int selector, byte[] body) {
        byte[] out = new byte[body.length + 1];
        out[0] = (byte) selector;
        System.arraycopy(body, 0, out, 1, body.length);
        return out;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Seeds of {@link SafetensorsTarget}: Python's LoRA adapter of the tiny Llama, and a small file of every dtype
     * with metadata.
     *
     * @return name to bytes
     */
    public static Map<String, byte[]> safetensors() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        out.put("llama-lora", read(tinyLlama().resolve("lora/adapter_model.safetensors")));
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> t = new LinkedHashMap<>();
            NDArray f = m.arange(0f, 6f).reshape(new Shape(2, 3));
            t.put("f32", f);
            t.put("f16", f.toType(DataType.FLOAT16, false));
            t.put("i64", m.arange(0, 4).toType(DataType.INT64, false));
            t.put("i32", m.arange(0, 3).toType(DataType.INT32, false));
            t.put("u8", m.arange(0, 5).toType(DataType.UINT8, false));
            t.put("scalar", m.create(1.5f).reshape(new Shape()));
            Path file = Files.createTempFile("peft4j-seed", ".safetensors");
            Safetensors.write(file, t, Map.of("format", "pt"));
            out.put("dtypes", read(file));
            Files.delete(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * Seeds of {@link ModelConfigTarget}: the tiny decoders' {@code config.json} (selector 0) and the tiny BERT's
     * (selector 1).
     *
     * @return name to bytes
     */
    public static Map<String, byte[]> modelConfigs() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try {
            Path root = Files.createTempDirectory("peft4j-seeds");
            for (String family : TinyDecoders.FAMILIES) {
                out.put(family, prefixed(0, read(TinyDecoders.copy(family, root).resolve("base/config.json"))));
            }
            out.put("bert", prefixed(1, utf8(Json.write(TinyBert.DIRECTORY_CONFIG.toJson()))));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * Seeds of {@link TokenizerTarget}: the tiny Llama's {@code tokenizer.json} (byte-level BPE, 21 KB; MiniLM's
     * WordPiece file is 700 KB, past the fuzzer's input limit).
     *
     * @return name to bytes
     */
    public static Map<String, byte[]> tokenizers() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        out.put("llama", read(tinyLlama().resolve("base/tokenizer.json")));
        return out;
    }

    /**
     * Seeds of {@link TokenizerConfigTarget}: the tiny Llama's {@code tokenizer_config.json} (with its chat template)
     * and Qwen2's.
     *
     * @return name to bytes
     */
    public static Map<String, byte[]> tokenizerConfigs() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try {
            Path root = Files.createTempDirectory("peft4j-seeds");
            for (String family : List.of("llama", "qwen2")) {
                out.put(family, read(TinyDecoders.copy(family, root).resolve("base/tokenizer_config.json")));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * Seeds of {@link AdapterTarget}: Python's LoRA adapter of the tiny Llama as config (selector 0) and as weights
     * (1), and a config of every other method peft4j loads into a model (each read with the LoRA weights, which
     * then do not fit: the config is parsed, the tensors refused).
     *
     * @return name to bytes
     */
    public static Map<String, byte[]> adapters() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        Path lora = tinyLlama().resolve("lora");
        out.put("lora-config", prefixed(0, read(lora.resolve("adapter_config.json"))));
        out.put("lora-weights", prefixed(1, read(lora.resolve("adapter_model.safetensors"))));
        String targets = "\"target_modules\": [\"q_proj\", \"v_proj\"], \"task_type\": \"CAUSAL_LM\"";
        Map<String, String> configs = new LinkedHashMap<>();
        configs.put(
                "dora",
                "\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"use_dora\": true,"
                        + " \"use_rslora\": true, \"rank_pattern\": {\"q_proj\": 2},"
                        + " \"alpha_pattern\": {\"v_proj\": 4}");
        configs.put("ia3", "\"peft_type\": \"IA3\", \"feedforward_modules\": [\"v_proj\"]");
        configs.put("loha", "\"peft_type\": \"LOHA\", \"r\": 4, \"alpha\": 8");
        configs.put(
                "lokr",
                "\"peft_type\": \"LOKR\", \"r\": 4, \"alpha\": 8, \"decompose_both\": true,"
                        + " \"decompose_factor\": -1");
        configs.put(
                "vera",
                "\"peft_type\": \"VERA\", \"r\": 16, \"projection_prng_key\": 42," + " \"save_projection\": false");
        configs.put(
                "adalora",
                "\"peft_type\": \"ADALORA\", \"init_r\": 6, \"target_r\": 4, \"total_step\": 10,"
                        + " \"rank_pattern\": null");
        configs.put(
                "poly",
                "\"peft_type\": \"POLY\", \"r\": 4, \"n_tasks\": 3, \"n_skills\": 4, \"n_splits\": 2,"
                        + " \"poly_type\": \"poly\"");
        configs.put("ln", "\"peft_type\": \"LN_TUNING\", \"target_modules\": [\"input_layernorm\"]");
        configs.put("hydra", "\"peft_type\": \"HYDRA\", \"r\": 4, \"hydra_alpha\": 8");
        configs.put(
                "bottleneck",
                "\"peft_type\": \"BOTTLENECK\", \"reduction_factor\": 4, \"non_linearity\":" + " \"relu\"");
        configs.put("ssf", "\"peft_type\": \"SSF\"");
        configs.put("sara", "\"peft_type\": \"SARA\", \"sara_fraction\": 0.1");
        configs.put(
                "regex",
                "\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\":"
                        + " \"model\\\\.layers\\\\.[01]\\\\.self_attn\\\\.(q|v)_proj\","
                        + " \"modules_to_save\": [\"lm_head\"]");
        configs.forEach((k, v) -> {
            String body = v.contains("target_modules") ? v : v + ", " + targets;
            out.put(k + "-config", prefixed(0, utf8("{" + body + "}")));
        });
        return out;
    }

    /**
     * The seed of {@link OnnxTarget}: a graph in the shape {@code torch.onnx.export} gives a BERT (a MatMul whose
     * weight is an anonymous initializer, named by the node's output; a named bias as raw data; a float_data tensor;
     * an int64 buffer).
     *
     * @return name to bytes
     */
    public static Map<String, byte[]> onnx() {
        try {
            ByteArrayOutputStream graph = new ByteArrayOutputStream();
            CodedOutputStream g = CodedOutputStream.newInstance(graph);
            g.writeByteArray(
                    1,
                    node(
                            "MatMul",
                            List.of("/encoder/layer.0/attention/self/Reshape_output_0", "onnx::MatMul_101"),
                            List.of("/encoder/layer.0/attention/self/query/MatMul_output_0")));
            g.writeByteArray(5, tensor("onnx::MatMul_101", new long[] {2, 3}, 1, raw(1, 2, 3, 4, 5, 6), null));
            g.writeByteArray(
                    5,
                    tensor(
                            "encoder.layer.0.attention.self.query.bias",
                            new long[] {3},
                            1,
                            raw(0.1f, 0.2f, 0.3f),
                            null));
            g.writeByteArray(5, tensor("embeddings.LayerNorm.weight", new long[] {2}, 1, null, new float[] {1, 1}));
            g.writeByteArray(
                    5,
                    tensor("embeddings.position_ids", new long[] {1, 2}, 7, ByteString.copyFrom(new byte[16]), null));
            g.flush();
            ByteArrayOutputStream model = new ByteArrayOutputStream();
            CodedOutputStream m = CodedOutputStream.newInstance(model);
            m.writeInt64(1, 8); // ir_version
            m.writeByteArray(7, graph.toByteArray());
            m.flush();
            return Map.of("bert-like", model.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ByteString raw(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return ByteString.copyFrom(b.array());
    }

    private static byte[] node(String op, List<String> inputs, List<String> outputs) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream o = CodedOutputStream.newInstance(bytes);
        for (String i : inputs) {
            o.writeString(1, i);
        }
        for (String i : outputs) {
            o.writeString(2, i);
        }
        o.writeString(4, op);
        o.flush();
        return bytes.toByteArray();
    }

    private static byte[] tensor(String name, long[] dims, int type, ByteString raw, float[] floats)
            throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream o = CodedOutputStream.newInstance(bytes);
        for (long d : dims) {
            o.writeInt64(1, d);
        }
        o.writeInt32(2, type);
        if (floats != null) {
            for (float f : floats) {
                o.writeFloat(4, f);
            }
        }
        o.writeString(8, name);
        if (raw != null) {
            o.writeBytes(9, raw);
        }
        o.flush();
        return bytes.toByteArray();
    }

    /**
     * Every target's seeds, by target class.
     *
     * @return target to its seeds
     */
    public static Map<Class<?>, Map<String, byte[]>> all() {
        Map<Class<?>, Map<String, byte[]>> out = new LinkedHashMap<>();
        out.put(SafetensorsTarget.class, safetensors());
        out.put(ModelConfigTarget.class, modelConfigs());
        out.put(TokenizerTarget.class, tokenizers());
        out.put(TokenizerConfigTarget.class, tokenizerConfigs());
        out.put(AdapterTarget.class, adapters());
        out.put(OnnxTarget.class, onnx());
        return out;
    }

    /**
     * Writes every target's seeds as Jazzer's JUnit integration reads them in regression mode: into
     * {@code DIR/<test method>/seed-<name>}, the test method being the target's name less {@code Target}, first letter
     * lower case ({@code SafetensorsTarget} → {@code safetensors}). The committed corpus of {@code FuzzRegressionTest}
     * is made with {@code DIR} =
     * {@code peft-reliability/src/test/resources/io/github/peft4j/fuzz/FuzzRegressionTestInputs}.
     *
     * @param args the directory
     * @throws IOException if a file cannot be written
     */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        for (Map.Entry<Class<?>, Map<String, byte[]>> t : all().entrySet()) {
            String n = t.getKey().getSimpleName().replace("Target", "");
            Path m = Files.createDirectories(dir.resolve(Character.toLowerCase(n.charAt(0)) + n.substring(1)));
            for (Map.Entry<String, byte[]> s : t.getValue().entrySet()) {
                Files.write(m.resolve("seed-" + s.getKey()), s.getValue());
            }
        }
    }

    /**
     * The target classes, in campaign order.
     *
     * @return the classes
     */
    public static List<Class<?>> targets() {
        return new ArrayList<>(List.of(
                SafetensorsTarget.class,
                ModelConfigTarget.class,
                TokenizerTarget.class,
                TokenizerConfigTarget.class,
                AdapterTarget.class,
                OnnxTarget.class));
    }
}
