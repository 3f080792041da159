/**
 * How a LoRA layer applies its update ({@link io.github.peft4j.lora.variant.LoraVariant}): plain LoRA, DoRA, and LoRA
 * on a residual base after PiSSA or LoRA-GA. One strategy object per layer, chosen by the config and the initializer.
 */
package io.github.peft4j.lora.variant;
