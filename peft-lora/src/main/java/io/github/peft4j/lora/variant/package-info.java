/** Variants of LoRA that change how the low-rank update is applied ({@link io.github.peft4j.lora.variant.Dora}). */
package io.github.peft4j.lora.variant;
