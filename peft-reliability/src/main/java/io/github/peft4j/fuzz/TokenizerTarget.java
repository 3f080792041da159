package io.github.peft4j.fuzz;

import io.github.peft4j.models.text.HfTokenizer;
import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Fuzz target: loading a tokenizer ({@link HfTokenizer#open}) from the tiny Llama's files with one of them replaced
 * by the input, then encoding a text and applying the chat template, as {@code peft generate --chat} does. This
 * target replaces {@code tokenizer.json} (read by the native tokenizers library); {@link TokenizerConfigTarget}
 * replaces {@code tokenizer_config.json} (special tokens and the Jinja chat template). (One target per file: a seed
 * per file would behave alike, and the fuzzer keeps only one of seeds that behave alike.)
 */
public final class TokenizerTarget {

    /** The files a tokenizer directory holds, in selector order. */
    public static final List<String> FILES =
            List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json");

    private static final Path BASE;

    static {
        try {
            BASE = TinyDecoders.copy("llama", Files.createTempDirectory("peft4j-fuzz-tok"))
                    .resolve("base");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private TokenizerTarget() {}

    /** Warms up on the seeds (Jazzer calls this once before fuzzing). */
    public static void fuzzerInitialize() {
        Harness.warmUp(TokenizerTarget::fuzzerTestOneInput, Seeds.tokenizers().values());
    }

    /**
     * Loads a tokenizer directory whose {@code tokenizer.json} is the input.
     *
     * @param data the file's bytes
     */
    public static void fuzzerTestOneInput(byte[] data) {
        load("tokenizer.json", data);
    }

    /**
     * Loads a tokenizer directory with one file from the input.
     *
     * @param replaced the file the input replaces
     * @param body the file's bytes
     */
    static void load(String replaced, byte[] body) {
        Path dir = Scratch.fresh("tokenizer");
        try {
            for (String f : FILES) {
                if (f.equals(replaced)) {
                    Files.write(dir.resolve(f), body);
                } else {
                    Files.copy(BASE.resolve(f), dir.resolve(f));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Harness.check("tokenizer loader (" + replaced + ")", body.length, () -> {
            try (HfTokenizer t = HfTokenizer.open(dir)) {
                t.encode("Is this email spam? WIN a FREE cruise", true);
                if (t.hasChatTemplate()) {
                    t.applyChatTemplate(List.of(Map.of("role", "user", "content", "Spam or ham?")), true);
                }
            }
        });
    }
}
