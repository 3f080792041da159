package io.github.peft4j.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.AdapterFiles;
import io.github.peft4j.core.io.AtomicDirectory;
import io.github.peft4j.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A LoRA adapter as files hold it, without a base model: its {@code adapter_config.json}, the A/B factors of every
 * layer with the layer's scaling, and the other tensors it carries (the modules it saves whole). What adapter
 * combinations read and write.
 *
 * @param config the config JSON (Python PEFT's keys)
 * @param layers module path to factors, in file order
 * @param others the remaining tensors (key without the {@code base_model.model.} prefix to values and shape)
 */
public record LoraAdapter(ObjectNode config, Map<String, LoraFactors> layers, Map<String, Tensor> others) {

    private static final String A_SUFFIX = ".lora_A.weight";
    private static final String B_SUFFIX = ".lora_B.weight";

    /**
     * A tensor other than LoRA factors, as float32 values.
     *
     * @param values the values, row-major
     * @param shape the shape
     */
    public record Tensor(float[] values, long[] shape) {}

    /** Copies the maps (in order). */
    public LoraAdapter {
        layers = Collections.unmodifiableMap(new LinkedHashMap<>(layers));
        others = Collections.unmodifiableMap(new LinkedHashMap<>(others));
    }

    /**
     * Reads an adapter directory in the Hugging Face PEFT layout.
     *
     * @param dir the directory
     * @return the adapter
     * @throws IOException if a file is missing or unreadable
     * @throws IllegalArgumentException naming the directory, if it is not a LoRA adapter this class can combine
     *     (another method, DoRA, a layer with only one of A and B, embedding LoRA)
     */
    public static LoraAdapter read(Path dir) throws IOException {
        ObjectNode json = AdapterFiles.readConfig(dir);
        if (!LoraConfig.PEFT_TYPE.equals(json.path("peft_type").asText())) {
            throw new IllegalArgumentException(dir + ": only LoRA adapters can be combined; this one is "
                    + json.path("peft_type").asText());
        }
        LoraConfig config;
        try {
            config = LoraConfig.fromJson(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir.resolve(AdapterFiles.CONFIG) + ": " + e.getMessage(), e);
        }
        if (config.useDora()) {
            throw new IllegalArgumentException(dir + ": a DoRA adapter cannot be combined (its magnitudes are defined"
                    + " on one base weight plus one update; Python PEFT's add_weighted_adapter drops them too)");
        }
        Map<String, float[]> as = new TreeMap<>();
        Map<String, float[]> bs = new TreeMap<>();
        Map<String, long[]> shapes = new TreeMap<>();
        Map<String, Tensor> others = new LinkedHashMap<>();
        try (NDManager m = NDManager.newBaseManager()) {
            for (Map.Entry<String, NDArray> e : new TreeMap<>(AdapterFiles.readTensors(dir, m)).entrySet()) {
                String key = e.getKey().startsWith(AdapterFiles.KEY_PREFIX)
                        ? e.getKey().substring(AdapterFiles.KEY_PREFIX.length())
                        : e.getKey();
                NDArray t = e.getValue();
                float[] values = t.toType(DataType.FLOAT32, false).toFloatArray();
                long[] shape = t.getShape().getShape();
                if (key.contains("lora_embedding_") || key.contains("lora_magnitude_vector")) {
                    throw new IllegalArgumentException(dir + ": tensor " + e.getKey() + " belongs to embedding LoRA or"
                            + " DoRA, which cannot be combined");
                }
                if (key.endsWith(A_SUFFIX)) {
                    String path = key.substring(0, key.length() - A_SUFFIX.length());
                    as.put(path, values);
                    shapes.put(path + "#A", shape);
                } else if (key.endsWith(B_SUFFIX)) {
                    String path = key.substring(0, key.length() - B_SUFFIX.length());
                    bs.put(path, values);
                    shapes.put(path + "#B", shape);
                } else {
                    others.put(key, new Tensor(values, shape));
                }
            }
        }
        if (!as.keySet().equals(bs.keySet())) {
            throw new IllegalArgumentException(dir + ": every layer needs both lora_A and lora_B; lora_A at "
                    + as.keySet() + ", lora_B at " + bs.keySet());
        }
        Map<String, LoraFactors> layers = new LinkedHashMap<>();
        for (String path : as.keySet()) {
            long[] sa = shapes.get(path + "#A");
            long[] sb = shapes.get(path + "#B");
            if (sa.length != 2 || sb.length != 2 || sa[0] != sb[1]) {
                throw new IllegalArgumentException(dir + ": layer " + path + " has lora_A " + new Shape(sa)
                        + " and lora_B " + new Shape(sb) + "; expected [r, in] and [out, r]");
            }
            layers.put(
                    path,
                    new LoraFactors(
                            as.get(path),
                            bs.get(path),
                            (int) sa[0],
                            (int) sa[1],
                            (int) sb[0],
                            config.scalingFor(path)));
        }
        if (layers.isEmpty()) {
            throw new IllegalArgumentException(dir + ": the adapter has no LoRA layer");
        }
        return new LoraAdapter(json, layers, others);
    }

    /**
     * Writes the adapter in the Hugging Face PEFT layout, atomically (a failure leaves an existing directory as it
     * was).
     *
     * @param dir the directory to create or replace
     * @param card the model card ({@code README.md}) text
     * @throws IOException if writing fails
     */
    public void save(Path dir, String card) throws IOException {
        AtomicDirectory.write(dir, tmp -> {
            try (NDManager m = NDManager.newBaseManager()) {
                Map<String, NDArray> tensors = new TreeMap<>();
                layers.forEach((path, f) -> {
                    tensors.put(
                            AdapterFiles.KEY_PREFIX + path + A_SUFFIX, m.create(f.a(), new Shape(f.rank(), f.in())));
                    tensors.put(
                            AdapterFiles.KEY_PREFIX + path + B_SUFFIX, m.create(f.b(), new Shape(f.out(), f.rank())));
                });
                others.forEach(
                        (k, t) -> tensors.put(AdapterFiles.KEY_PREFIX + k, m.create(t.values(), new Shape(t.shape()))));
                AdapterFiles.write(tmp, config, tensors, card);
            }
        });
    }
}
