/**
 * After training: combining LoRA adapters into one ({@link io.github.peft4j.merge.WeightedCombination}, Python PEFT's
 * {@code add_weighted_adapter} types) from their files ({@link io.github.peft4j.merge.LoraAdapter}).
 */
package io.github.peft4j.merge;
