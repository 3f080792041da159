/**
 * The adapter abstraction: {@link io.github.peft4j.core.PeftModel} wraps a DJL block, selects target modules by
 * Hugging Face style dotted paths ({@link io.github.peft4j.core.ModuleTree},
 * {@link io.github.peft4j.core.ModuleSelector}), injects adapters, freezes the base, and merges, saves and loads
 * them. Methods plug in through the typed {@link io.github.peft4j.core.AdapterMethod} service; training loops call
 * {@link io.github.peft4j.core.TrainingHooks}. This module depends on DJL's API, Jackson and SLF4J only: the engine
 * and its natives are the application's choice.
 */
package io.github.peft4j.core;
