package io.github.peft4j.models.decoder;

/**
 * One prompt's generated continuation.
 *
 * @param promptIds the prompt's ids
 * @param tokens the new ids (an end-of-sequence id included when it ended the row)
 * @param text the new ids decoded without special tokens (empty without a tokenizer)
 * @param finishReason why the row ended
 */
public record Generation(long[] promptIds, long[] tokens, String text, FinishReason finishReason) {

    /** Why generation of a row ended. */
    public enum FinishReason {
        /** An end-of-sequence token was generated. */
        EOS,
        /** The text reached a stop string. */
        STOP_STRING,
        /** {@code max_new_tokens}, or the model's context, was reached. */
        LENGTH
    }
}
