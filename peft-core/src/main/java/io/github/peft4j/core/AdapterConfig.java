package io.github.peft4j.core;

import com.fasterxml.jackson.databind.node.ObjectNode;

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
}
