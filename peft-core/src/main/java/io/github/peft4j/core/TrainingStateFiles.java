package io.github.peft4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The adapters' part of a training checkpoint ({@link PeftModel#saveState}): per adapter its config as trained
 * ({@code config.toJson()}, not the export form) and every tensor in training form plus the layers' training state,
 * so that a resumed run rebuilds and continues the same adapters without re-running initializers.
 *
 * <pre>
 * peft_state.json                      {"active": "default", "enabled": true, "adapters": ["default"]}
 * &lt;adapter&gt;/adapter_config.json        the config as trained
 * &lt;adapter&gt;/state.safetensors          "&lt;module path&gt;.&lt;tensor&gt;" (parameters, saved modules) and
 *                                      "&lt;layer path&gt;#&lt;key&gt;" (LayerAdapter.trainingState)
 * </pre>
 */
final class TrainingStateFiles {

    static final String INDEX = "peft_state.json";
    static final String CONFIG = "adapter_config.json";
    static final String TENSORS = "state.safetensors";
    private static final String STATE_SEPARATOR = "#";

    private TrainingStateFiles() {}

    /** What a state directory says about the model's adapters. */
    record Index(String active, boolean enabled, List<String> adapters) {}

    static void save(
            Collection<NamedAdapter<?, ?>> adapters, String active, boolean enabled, Path dir, NDManager manager)
            throws IOException {
        Files.createDirectories(dir);
        ObjectNode index = Json.MAPPER.createObjectNode();
        index.put("active", active);
        index.put("enabled", enabled);
        ArrayNode names = index.putArray("adapters");
        for (NamedAdapter<?, ?> a : adapters) {
            names.add(a.name);
            Path d = dir.resolve(a.name);
            Files.createDirectories(d);
            Files.writeString(d.resolve(CONFIG), Json.write(a.config.toJson()), StandardCharsets.UTF_8);
            try (NDManager scope = manager.newSubManager()) {
                Map<String, NDArray> tensors = new LinkedHashMap<>();
                a.parametersByPath().forEach((k, p) -> tensors.put(k, p.getArray()));
                a.layers().forEach((path, l) -> l.trainingState(scope)
                        .forEach((k, t) -> tensors.put(path + STATE_SEPARATOR + k, t)));
                Safetensors.write(d.resolve(TENSORS), tensors, Map.of("format", "peft4j-training-state"));
            }
        }
        Files.writeString(dir.resolve(INDEX), Json.write(index), StandardCharsets.UTF_8);
    }

    static Index readIndex(Path dir) throws IOException {
        Path f = dir.resolve(INDEX);
        if (!Files.isRegularFile(f)) {
            throw new IOException("not a peft4j training state: " + f + " is missing");
        }
        ObjectNode o = Json.readObject(f);
        List<String> names = new ArrayList<>();
        for (JsonNode n : o.path("adapters")) {
            names.add(n.asText());
        }
        JsonNode active = o.get("active");
        return new Index(
                active == null || active.isNull() ? null : active.asText(),
                o.path("enabled").asBoolean(true),
                names);
    }

    /**
     * Reads the adapters' configs as trained.
     *
     * @param dir the state directory
     * @return adapter name to config, in the order the adapters were added
     * @throws IOException if a file is missing or corrupted
     */
    static Map<String, AdapterConfig> readConfigs(Path dir) throws IOException {
        Map<String, AdapterConfig> out = new LinkedHashMap<>();
        for (String name : readIndex(dir).adapters()) {
            Path f = dir.resolve(name).resolve(CONFIG);
            if (!Files.isRegularFile(f)) {
                throw new IOException(
                        "training state " + dir + " lists adapter '" + name + "' but " + f + " is missing");
            }
            out.put(name, AdapterSerializer.parseConfig(Json.readObject(f), f));
        }
        return out;
    }

    /**
     * Restores the adapters: adds those the model lacks with their saved config, checks that those it has were made
     * with the same config, then copies every tensor and the layers' training state.
     *
     * @param dir the state directory
     * @param existing the model's adapters by name
     * @param add adds an adapter to the model (name, config)
     * @param manager parent of the reading scope
     * @return the index
     * @throws IOException if a file is missing or corrupted
     */
    static Index load(
            Path dir,
            Function<String, NamedAdapter<?, ?>> existing,
            BiConsumer<String, AdapterConfig> add,
            NDManager manager)
            throws IOException {
        Index index = readIndex(dir);
        Map<String, AdapterConfig> configs = readConfigs(dir);
        for (Map.Entry<String, AdapterConfig> e : configs.entrySet()) {
            NamedAdapter<?, ?> a = existing.apply(e.getKey());
            if (a == null) {
                add.accept(e.getKey(), e.getValue());
            } else if (!Json.write(a.config.toJson())
                    .equals(Json.write(e.getValue().toJson()))) {
                throw new IllegalArgumentException("the checkpoint's adapter '" + e.getKey() + "' was trained with"
                        + " another config than this model's: checkpoint "
                        + e.getValue().toJson() + ", model "
                        + a.config.toJson() + ". Resume with the checkpoint's settings (or build the model without"
                        + " the adapter and let the checkpoint add it).");
            }
        }
        for (String name : configs.keySet()) {
            NamedAdapter<?, ?> a = existing.apply(name);
            Path file = dir.resolve(name).resolve(TENSORS);
            try (NDManager scope = manager.newSubManager()) {
                Map<String, NDArray> all = Safetensors.read(file, scope).tensors();
                Map<String, NDArray> params = new LinkedHashMap<>();
                Map<String, Map<String, NDArray>> states = new LinkedHashMap<>();
                all.forEach((k, t) -> {
                    int i = k.indexOf(STATE_SEPARATOR);
                    if (i < 0) {
                        params.put(k, t);
                    } else {
                        states.computeIfAbsent(k.substring(0, i), p -> new LinkedHashMap<>())
                                .put(k.substring(i + 1), t);
                    }
                });
                Map<String, Parameter> expected = a.parametersByPath();
                TensorFit.requireExact(
                        expected,
                        params,
                        file,
                        "Resume with the checkpoint's model; adapter '" + name + "' was trained on other modules.");
                expected.forEach((k, p) -> ParameterValues.copyInto(p.getArray(), params.get(k)));
                for (Map.Entry<String, ? extends LayerAdapter> l : a.layers().entrySet()) {
                    try {
                        l.getValue().restoreTrainingState(states.getOrDefault(l.getKey(), Map.of()));
                        l.getValue().afterLoad();
                    } catch (IllegalArgumentException ex) {
                        throw new IllegalArgumentException(
                                file + ", layer '" + l.getKey() + "': " + ex.getMessage(), ex);
                    }
                }
            }
        }
        return index;
    }
}
