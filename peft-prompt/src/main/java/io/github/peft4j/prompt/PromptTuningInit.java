package io.github.peft4j.prompt;

import java.util.Locale;

/** How prompt tuning's virtual token embeddings start ({@code prompt_tuning_init}). */
public enum PromptTuningInit {
    /** N(0, 1), as {@code nn.Embedding} starts. */
    RANDOM,
    /** The embeddings of a text's tokens, repeated or cut to the number of virtual tokens (Lester et al.'s best). */
    TEXT,
    /** The embeddings of tokens drawn at random from the vocabulary. */
    SAMPLE_VOCAB;

    static PromptTuningInit parse(String s) {
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "prompt_tuning_init must be RANDOM, TEXT or SAMPLE_VOCAB; got '" + s + "'", e);
        }
    }
}
