package io.github.peft4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.AdapterFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes an adapter in the Hugging Face PEFT layout and fits loaded tensors into an adapter, naming what does not fit.
 */
final class AdapterSerializer {

    private AdapterSerializer() {}

    /**
     * Writes {@code adapter_config.json}, {@code adapter_model.safetensors} and the model card into a directory (the
     * caller makes it atomic).
     *
     * @param a the adapter
     * @param dir the directory
     * @param seed the initialisation seed, for the card
     * @param manager parent of the scope of exported tensors
     * @throws IOException if writing fails
     */
    static void write(NamedAdapter<?, ?> a, Path dir, long seed, NDManager manager) throws IOException {
        ObjectNode json = a.exportConfig();
        json.put("inference_mode", true);
        try (NDManager scope = manager.newSubManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            a.layers().forEach((path, layer) -> layer.exportTensors(scope)
                    .forEach((k, t) -> tensors.put(AdapterFiles.KEY_PREFIX + path + "." + k, t)));
            a.saved.parameters().forEach((k, p) -> tensors.put(AdapterFiles.KEY_PREFIX + k, p.getArray()));
            AdapterFiles.write(dir, json, tensors, ModelCard.render(a, seed));
        }
    }

    /**
     * Reads the config of an adapter directory with the method its {@code peft_type} names.
     *
     * @param dir the directory
     * @return the config
     * @throws IOException if the file is missing or not JSON
     * @throws IllegalArgumentException naming the file, if the config is invalid or its method is not on the class path
     */
    static AdapterConfig readConfig(Path dir) throws IOException {
        ObjectNode json = AdapterFiles.readConfig(dir);
        try {
            return AdapterMethods.forPeftType(json.get("peft_type").asText()).parseConfig(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir.resolve(AdapterFiles.CONFIG) + ": " + e.getMessage(), e);
        }
    }

    /**
     * Returns the tensors an adapter holds, keyed as in {@code adapter_model.safetensors} (training form).
     *
     * @param a the adapter
     * @return key to parameter
     */
    static Map<String, Parameter> expectedTensors(NamedAdapter<?, ?> a) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        a.parametersByPath().forEach((k, p) -> out.put(AdapterFiles.KEY_PREFIX + k, p));
        return out;
    }

    /**
     * Copies loaded tensors into an adapter after checking that the keys and shapes are exactly the adapter's; then
     * lets each layer validate its values ({@link LayerAdapter#afterLoad}).
     *
     * @param a the adapter
     * @param tensors key to tensor, keys as in the file
     * @param file the file, for messages
     * @throws IllegalArgumentException naming the missing, unexpected or mis-shaped tensors
     */
    static void assign(NamedAdapter<?, ?> a, Map<String, NDArray> tensors, Path file) {
        Map<String, Parameter> expected = expectedTensors(a);
        List<String> missing = new ArrayList<>();
        for (String k : expected.keySet()) {
            if (!tensors.containsKey(k)) {
                missing.add(k);
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String k : tensors.keySet()) {
            if (!expected.containsKey(k)) {
                unexpected.add(k);
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty()) {
            throw new IllegalArgumentException(file + " does not fit the model with its config: "
                    + (missing.isEmpty() ? "" : "missing tensors " + abbreviate(missing) + " ")
                    + (unexpected.isEmpty() ? "" : "unexpected tensors " + abbreviate(unexpected) + " ")
                    + "(is it the adapter of another base model, or a different module prefix such as 'bert.'?)");
        }
        for (Map.Entry<String, Parameter> e : expected.entrySet()) {
            NDArray src = tensors.get(e.getKey());
            NDArray dst = e.getValue().getArray();
            if (!src.getShape().equals(dst.getShape())) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' in " + file + " has shape "
                        + src.getShape() + " but the model expects " + dst.getShape());
            }
        }
        for (Map.Entry<String, Parameter> e : expected.entrySet()) {
            ParameterValues.copyInto(e.getValue().getArray(), tensors.get(e.getKey()));
        }
        a.layers().forEach((path, layer) -> {
            try {
                layer.afterLoad();
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(file + ", layer '" + path + "': " + ex.getMessage(), ex);
            }
        });
    }

    static String abbreviate(List<String> keys) {
        List<String> sorted = new ArrayList<>(keys);
        Collections.sort(sorted);
        return sorted.size() <= 6 ? sorted.toString() : sorted.subList(0, 6) + " and " + (sorted.size() - 6) + " more";
    }
}
