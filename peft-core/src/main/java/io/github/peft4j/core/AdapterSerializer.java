package io.github.peft4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.AdapterFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
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
            a.sharedTensors().forEach((k, p) -> tensors.put(AdapterFiles.SHARED_PREFIX + k, p.getArray()));
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
        return parseConfig(AdapterFiles.readConfig(dir), dir.resolve(AdapterFiles.CONFIG));
    }

    /**
     * Parses a config with the method its {@code peft_type} names.
     *
     * @param json the config
     * @param file the file it was read from, for messages
     * @return the config
     * @throws IllegalArgumentException naming the file, if the config is invalid or its method is not on the class path
     */
    static AdapterConfig parseConfig(ObjectNode json, Path file) {
        try {
            return AdapterMethods.forPeftType(json.path("peft_type").asText()).parseConfig(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
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
        a.sharedTensors().forEach((k, p) -> out.put(AdapterFiles.SHARED_PREFIX + k, p));
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
        TensorFit.requireExact(
                expected,
                tensors,
                file,
                "Is it the adapter of another base model, or a different module prefix such as 'bert.'?");
        expected.forEach((k, p) -> ParameterValues.copyInto(p.getArray(), tensors.get(k)));
        a.layers().forEach((path, layer) -> {
            try {
                layer.afterLoad();
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(file + ", layer '" + path + "': " + ex.getMessage(), ex);
            }
        });
    }
}
