package io.github.peft4j.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;

import java.util.ArrayList;

import java.util.List;

/**
 * The configuration of one adapter, as stored in {@code adapter_config.json}.
 *
 * <p>Each method supplies an immutable implementation (e.g. {@code LoraConfig}) with a builder and Python PEFT's
 * snake_case keys. peft4j reads the common fields below to select modules; everything else is the method's.
 */
public interface AdapterConfig {

    /**
     * Returns the {@code peft_type} that identifies the method in the file, e.g. {@code LORA}.
     *
     * @return the peft type
     */
    String peftType();

    /**
     * Returns the modules that receive an adapter ({@code target_modules}).
     *
     * @return the selector
     */
    ModuleSelector targetModules();

    /**
     * Returns the modules never adapted even if {@link #targetModules()} matches them ({@code exclude_modules}).
     *
     * @return the selector, possibly {@link ModuleSelector#none()}
     */
    ModuleSelector excludeModules();

    /**
     * Returns the modules trained fully and saved whole with the adapter ({@code modules_to_save}), e.g. a
     * classification head. Entries match like target names (exact path or suffix); entries that match nothing are
     * ignored, as in Python PEFT.
     *
     * @return module names, without duplicates
     */
    List<String> modulesToSave();

    /**
     * Returns the task type ({@code SEQ_CLS}, {@code FEATURE_EXTRACTION}, ...), or {@code null}.
     *
     * @return the task type
     */
    String taskType();

    /**
     * Returns the name or path of the base model the adapter was trained on, or {@code null}.
     *
     * @return the base model
     */
    String baseModelNameOrPath();

    /**
     * Writes the config as the JSON object of {@code adapter_config.json}, with Python PEFT's keys.
     *
     * @return a new JSON object
     */
    ObjectNode toJson();

    /**
     * Writes the fields every method shares ({@code peft_type}, {@code task_type}, {@code base_model_name_or_path},
     * {@code target_modules}, {@code exclude_modules}, {@code modules_to_save}); a method's {@link #toJson()} starts
     * from it and adds its own keys.
     *
     * @return a new JSON object
     */
    default ObjectNode commonJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("peft_type", peftType());
        o.put("task_type", taskType());
        o.put("base_model_name_or_path", baseModelNameOrPath());
        o.set("target_modules", targetModules().toJson());
        o.set("exclude_modules", excludeModules().toJson());
        if (modulesToSave().isEmpty()) {
            o.putNull("modules_to_save");
        } else {
            modulesToSave().forEach(o.putArray("modules_to_save")::add);
        }
        return o;
    }

    /**
     * Drops duplicates (Python PEFT writes {@code modules_to_save} with them), keeping the first occurrence.
     *
     * @param names module names, or null
     * @return an immutable list without duplicates
     */
    static List<String> distinct(List<String> names) {
        List<String> out = new ArrayList<>();
        for (String n : names == null ? List.<String>of() : names) {
            if (!out.contains(n)) {
                out.add(n);
            }
        }
        return List.copyOf(out);
    }

    /**
     * Warns once about keys of a config that a method does not read (configs from newer versions must still load).
     *
     * @param json the config
     * @param known the keys the method reads
     * @param method the method's name for the message
     * @param log the method's logger
     */
    static void warnUnknownKeys(com.fasterxml.jackson.databind.node.ObjectNode json, java.util.Set<String> known,
            String method, org.slf4j.Logger log) {
        List<String> ignored = new java.util.ArrayList<>();
        json.fieldNames().forEachRemaining(k -> {
            if (!known.contains(k)) {
                ignored.add(k);
            }
        });
        if (!ignored.isEmpty()) {
            log.warn("adapter_config.json: ignoring keys peft4j's {} does not know: {}", method, ignored);
        }
    }

    /**
     * Reads a list of strings ({@code modules_to_save}); a missing or null key is an empty list.
     *
     * @param json the config
     * @param key the key
     * @return the strings
     */
    static List<String> stringList(com.fasterxml.jackson.databind.node.ObjectNode json, String key) {
        List<String> out = new java.util.ArrayList<>();
        json.path(key).forEach(n -> out.add(n.asText()));
        return out;
    }

    /**
     * Reads an optional string ({@code task_type}, {@code base_model_name_or_path}).
     *
     * @param json the config
     * @param key the key
     * @return the text, or null when missing, null or not a string
     */
    static String textOrNull(com.fasterxml.jackson.databind.node.ObjectNode json, String key) {
        return json.path(key).isTextual() ? json.get(key).asText() : null;
    }
}
