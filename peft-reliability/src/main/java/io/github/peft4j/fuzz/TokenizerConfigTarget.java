package io.github.peft4j.fuzz;

/**
 * Fuzz target: loading a tokenizer whose {@code tokenizer_config.json} (special tokens, the Jinja chat template) is
 * the input, then encoding and applying the chat template ({@link TokenizerTarget#load}).
 */
public final class TokenizerConfigTarget {

    private TokenizerConfigTarget() {}

    /** Warms up on the seeds (Jazzer calls this once before fuzzing). */
    public static void fuzzerInitialize() {
        Harness.warmUp(
                TokenizerConfigTarget::fuzzerTestOneInput,
                Seeds.tokenizerConfigs().values());
    }

    /**
     * Loads a tokenizer directory whose {@code tokenizer_config.json} is the input.
     *
     * @param data the file's bytes
     */
    public static void fuzzerTestOneInput(byte[] data) {
        TokenizerTarget.load("tokenizer_config.json", data);
    }
}
