/**
 * Prompt learning for decoder language models: prompt tuning (Lester et al., 2021: learned input embeddings before the
 * input) and prefix tuning (Li and Liang, 2021: learned keys and values every layer attends to), in Python PEFT's
 * {@code PROMPT_TUNING} / {@code PREFIX_TUNING} layout.
 */
package io.github.peft4j.prompt;
