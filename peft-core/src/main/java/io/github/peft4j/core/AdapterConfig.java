package io.github.peft4j.core;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The configuration of one adapter, as stored in {@code adapter_config.json}.
 *
 * <p>Each method supplies an immutable record (e.g. {@code LoraConfig}) whose first component is the shared
 * {@link Targets}, built with a builder that extends {@link AdapterConfigBuilder}, and read and written with Python
 * PEFT's snake_case keys.
 */
public interface AdapterConfig {

    /**
     * Returns the {@code peft_type} that identifies the method in the file, e.g. {@code LORA}.
     *
     * @return the peft type
     */
    String peftType();

    /**
     * Returns where the adapter goes: targets, exclusions, modules saved whole, task type and base model.
     *
     * @return the targets
     */
    Targets targets();

    /**
     * Writes the config as the JSON object of {@code adapter_config.json}, with Python PEFT's keys; it starts from
     * {@code targets().toJson(peftType())}.
     *
     * @return a new JSON object
     */
    ObjectNode toJson();
}
