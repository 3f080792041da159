/**
 * IA³ (Liu et al., 2022, "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context Learning"):
 * learned vectors that rescale activations, with Python PEFT's config keys, tensor names and shapes.
 */
package io.github.peft4j.methods.ia3;
