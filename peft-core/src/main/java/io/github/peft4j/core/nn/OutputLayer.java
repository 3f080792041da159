package io.github.peft4j.core.nn;

import ai.djl.nn.Block;

/**
 * A model's output projection (a language model's {@code lm_head}). {@code all-linear} leaves it out, as Python PEFT
 * does, because adapting the layer that maps to the vocabulary costs much and helps little; name it in
 * {@code target_modules} to adapt it anyway.
 */
public interface OutputLayer extends Block {}
