package io.github.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The Hugging Face PEFT adapter directory: {@code adapter_config.json}, {@code adapter_model.safetensors} and a
 * {@code README.md} model card.
 */
public final class AdapterFiles {

    /** The config file name. */
    public static final String CONFIG = "adapter_config.json";
    /** The weights file name. */
    public static final String WEIGHTS = "adapter_model.safetensors";
    /** The model card file name. */
    public static final String CARD = "README.md";
    /** The prefix of every tensor key, as Python PEFT writes it. */
    public static final String KEY_PREFIX = "base_model.model.";
    /** The prefix of the tensors an adapter keeps outside the model's modules (VeRA's {@code base_model.vera_A}). */
    public static final String SHARED_PREFIX = "base_model.";

    private AdapterFiles() {}

    /**
     * Writes the three files into a directory (the caller makes it atomic).
     *
     * @param dir the directory
     * @param config the config JSON
     * @param tensors key to tensor
     * @param card the model card text
     * @throws IOException if writing fails
     */
    public static void write(Path dir, ObjectNode config, Map<String, NDArray> tensors, String card)
            throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(CONFIG), Json.write(config), StandardCharsets.UTF_8);
        Safetensors.write(dir.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
        Files.writeString(dir.resolve(CARD), card, StandardCharsets.UTF_8);
    }

    /**
     * Reads the config of an adapter directory.
     *
     * @param dir the directory
     * @return the JSON object
     * @throws IOException if the directory or file is missing or not a JSON object
     */
    public static ObjectNode readConfig(Path dir) throws IOException {
        Path file = dir.resolve(CONFIG);
        if (!Files.isRegularFile(file)) {
            throw new IOException("not an adapter directory: " + file + " is missing (expected " + CONFIG + " and "
                    + WEIGHTS + " as Python PEFT's save_pretrained writes them)");
        }
        ObjectNode json = Json.readObject(file);
        if (!json.path("peft_type").isTextual()) {
            throw new IOException(file + " has no peft_type (expected e.g. \"peft_type\": \"LORA\")");
        }
        return json;
    }

    /**
     * Reads the tensors of an adapter directory.
     *
     * @param dir the directory
     * @param manager owns the arrays
     * @return key to tensor
     * @throws IOException if the file is missing, truncated or corrupted
     */
    public static Map<String, NDArray> readTensors(Path dir, NDManager manager) throws IOException {
        Path file = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(file)) {
            throw new IOException("adapter weights missing: " + file + " (peft4j reads the safetensors layout;"
                    + " convert an adapter_model.bin with Python first)");
        }
        return Safetensors.read(file, manager).tensors();
    }
}
