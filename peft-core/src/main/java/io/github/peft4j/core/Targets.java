package io.github.peft4j.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.ConfigJson;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;

/**
 * What every adapter config says about where it goes: the part of {@code adapter_config.json} that all methods share.
 *
 * @param targetModules {@code target_modules}: the modules that receive an adapter
 * @param excludeModules {@code exclude_modules}: modules never adapted even if targeted
 * @param modulesToSave {@code modules_to_save}: modules trained fully and saved whole (a classification head);
 *     entries match like target names (exact path or suffix), entries matching nothing are ignored as in Python PEFT
 * @param taskType {@code task_type} ({@code SEQ_CLS}, {@code FEATURE_EXTRACTION}, ...), or null
 * @param baseModelNameOrPath {@code base_model_name_or_path}, or null
 */
public record Targets(
        ModuleSelector targetModules,
        ModuleSelector excludeModules,
        List<String> modulesToSave,
        String taskType,
        String baseModelNameOrPath) {

    /** Validates; a null exclude selector is none, duplicates in {@code modules_to_save} are dropped. */
    public Targets {
        Objects.requireNonNull(targetModules, "target_modules");
        excludeModules = excludeModules == null ? ModuleSelector.none() : excludeModules;
        List<String> distinct = new ArrayList<>();
        for (String n : modulesToSave == null ? List.<String>of() : modulesToSave) {
            if (!distinct.contains(n)) {
                distinct.add(n); // Python PEFT writes duplicates; keep the first occurrence
            }
        }
        modulesToSave = List.copyOf(distinct);
    }

    /**
     * Targets some modules with no exclusions, nothing saved whole and no bookkeeping.
     *
     * @param targetModules the modules
     * @return the targets
     */
    public static Targets of(ModuleSelector targetModules) {
        return new Targets(targetModules, null, List.of(), null, null);
    }

    /** The keys of {@link #toJson}. */
    public static final List<String> KEYS = List.of(
            "peft_type",
            "task_type",
            "base_model_name_or_path",
            "target_modules",
            "exclude_modules",
            "modules_to_save");

    /**
     * Writes the shared keys as Python PEFT does; a method's {@code toJson} starts from this object.
     *
     * @param peftType the method's {@code peft_type}
     * @return a new JSON object
     */
    public ObjectNode toJson(String peftType) {
        ObjectNode o = io.github.peft4j.core.io.Json.MAPPER.createObjectNode();
        o.put("peft_type", peftType);
        o.put("task_type", taskType);
        o.put("base_model_name_or_path", baseModelNameOrPath);
        o.set("target_modules", targetModules.toJson());
        o.set("exclude_modules", excludeModules.toJson());
        if (modulesToSave.isEmpty()) {
            o.putNull("modules_to_save");
        } else {
            modulesToSave.forEach(o.putArray("modules_to_save")::add);
        }
        return o;
    }

    /**
     * Starts a method's {@code fromJson}: checks the file's {@code peft_type}, warns once about keys neither these
     * shared keys, {@code inference_mode} nor the method's own are, and reads the shared part.
     *
     * @param json the config
     * @param peftType the method's {@code peft_type}
     * @param config the config's name for messages, e.g. {@code SsfConfig}
     * @param methodKeys the keys the method reads itself
     * @param log the method's logger
     * @return the targets
     * @throws IllegalArgumentException if the {@code peft_type} is another or a shared value has the wrong form
     */
    public static Targets fromJson(
            ObjectNode json, String peftType, String config, Collection<String> methodKeys, Logger log) {
        ConfigJson.requirePeftType(json, peftType, config);
        List<String> known = new ArrayList<>(KEYS);
        known.add("inference_mode");
        known.addAll(methodKeys);
        ConfigJson.warnUnknownKeys(json, known, peftType, log);
        return fromJson(json, config);
    }

    /**
     * Reads the shared keys of {@code adapter_config.json}.
     *
     * @param json the object
     * @param config the config's name for messages, e.g. {@code LoraConfig}
     * @return the targets
     * @throws IllegalArgumentException if a value has the wrong form
     */
    public static Targets fromJson(ObjectNode json, String config) {
        return new Targets(
                ModuleSelector.fromJson(json.get("target_modules"), config + ".target_modules"),
                ModuleSelector.fromJson(json.get("exclude_modules"), config + ".exclude_modules"),
                ConfigJson.stringList(json, "modules_to_save", config),
                ConfigJson.textOrNull(json, "task_type"),
                ConfigJson.textOrNull(json, "base_model_name_or_path"));
    }
}
