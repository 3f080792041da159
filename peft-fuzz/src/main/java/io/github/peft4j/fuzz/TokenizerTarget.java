package io.github.peft4j.fuzz;

import io.github.peft4j.models.text.HfTokenizer;
import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Fuzz target: loading a tokenizer ({@link HfTokenizer#open}) from the tiny Llama's files with one of them replaced
 * by the input (the first byte picks which, modulo {@link #FILES}), then encoding a text and applying the chat
 * template, as {@code peft generate --chat} does.
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

    /**
     * Loads a tokenizer directory with one file from the input.
     *
     * @param data a selector byte, then the file's bytes
     */
    public static void fuzzerTestOneInput(byte[] data) {
        if (data.length == 0) {
            return;
        }
        String replaced = FILES.get(Math.floorMod(data[0], FILES.size()));
        byte[] body = Arrays.copyOfRange(data, 1, data.length);
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
