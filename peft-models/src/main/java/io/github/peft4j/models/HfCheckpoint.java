package io.github.peft4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The weights of a Hugging Face model directory: {@code model.safetensors}, or the shards that
 * {@code model.safetensors.index.json} lists. Tensors are read one at a time by memory mapping
 * ({@link SafetensorsFile}), so checkpoints and tensors of any size load without whole-file copies.
 */
public final class HfCheckpoint implements AutoCloseable {

    /** The single-file weights. */
    public static final String SINGLE = "model.safetensors";

    /** The index of sharded weights. */
    public static final String INDEX = "model.safetensors.index.json";

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byKey;

    private HfCheckpoint(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> byKey) {
        this.dir = dir;
        this.files = files;
        this.byKey = byKey;
    }

    /**
     * Opens the weights of a model directory and validates every file's header.
     *
     * @param dir the directory
     * @return the checkpoint; close it when done
     * @throws IOException if no weights are there, a shard the index names is missing, a file is corrupted, or the
     *     index maps a tensor to a shard that lacks it
     */
    public static HfCheckpoint open(Path dir) throws IOException {
        Path index = dir.resolve(INDEX);
        Path single = dir.resolve(SINGLE);
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> byKey = new LinkedHashMap<>();
        try {
            if (Files.isRegularFile(index)) {
                ObjectNode json = Json.readObject(index);
                JsonNode map = json.path("weight_map");
                if (!map.isObject() || map.isEmpty()) {
                    throw new IOException(index + " has no weight_map");
                }
                Map<String, SafetensorsFile> shards = new TreeMap<>();
                for (var it = map.fields(); it.hasNext(); ) {
                    var e = it.next();
                    String shard = e.getValue().asText();
                    Path file = dir.resolve(shard).normalize();
                    if (!file.startsWith(dir.normalize()) || shard.contains("/") || shard.contains("\\")) {
                        throw new IOException(index + " maps '" + e.getKey() + "' to '" + shard + "', outside the"
                                + " model directory");
                    }
                    SafetensorsFile f = shards.get(shard);
                    if (f == null) {
                        if (!Files.isRegularFile(file)) {
                            throw new IOException("missing shard: " + index + " names " + shard + ", which is not in "
                                    + dir + " (download the whole model directory)");
                        }
                        f = SafetensorsFile.open(file);
                        shards.put(shard, f);
                        files.add(f);
                    }
                    if (!f.tensors().containsKey(e.getKey())) {
                        throw new IOException(
                                index + " maps '" + e.getKey() + "' to " + shard + ", which has no such" + " tensor");
                    }
                    byKey.put(e.getKey(), f);
                }
            } else if (Files.isRegularFile(single)) {
                SafetensorsFile f = SafetensorsFile.open(single);
                files.add(f);
                f.tensors().keySet().forEach(k -> byKey.put(k, f));
            } else {
                throw new IOException("model weights missing: " + dir + " has neither " + SINGLE + " nor " + INDEX
                        + " (peft4j reads safetensors; convert a pytorch_model.bin with Python's safetensors first)");
            }
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile f : files) {
                f.close();
            }
            throw e;
        }
        return new HfCheckpoint(dir, files, byKey);
    }

    /**
     * The directory.
     *
     * @return the path
     */
    public Path directory() {
        return dir;
    }

    /**
     * Every tensor key with its header entry, in file order.
     *
     * @return key to entry
     */
    public Map<String, SafetensorsFile.TensorInfo> tensors() {
        Map<String, SafetensorsFile.TensorInfo> out = new LinkedHashMap<>();
        byKey.forEach((k, f) -> out.put(k, f.tensors().get(k)));
        return Collections.unmodifiableMap(out);
    }

    /**
     * Whether a tensor exists.
     *
     * @param key the tensor key
     * @return true if some file has it
     */
    public boolean has(String key) {
        return byKey.containsKey(key);
    }

    /**
     * Reads a tensor (half precision widened to float32).
     *
     * @param key the tensor key
     * @param manager owns the result
     * @return the tensor
     * @throws IOException if it cannot be read
     */
    public NDArray read(String key, NDManager manager) throws IOException {
        return file(key).read(key, manager);
    }

    /**
     * Copies a tensor into an existing array of as many elements, chunk by chunk.
     *
     * @param key the tensor key
     * @param target the array
     * @throws IOException if it cannot be read
     */
    public void readInto(String key, NDArray target) throws IOException {
        file(key).readInto(key, target);
    }

    /**
     * Where a tensor is, for messages.
     *
     * @param key the tensor key
     * @return the file
     */
    public Path fileOf(String key) {
        return file(key).path();
    }

    private SafetensorsFile file(String key) {
        SafetensorsFile f = byKey.get(key);
        if (f == null) {
            throw new IllegalArgumentException(dir + " has no tensor '" + key + "'");
        }
        return f;
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
