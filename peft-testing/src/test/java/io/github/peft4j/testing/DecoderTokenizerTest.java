package io.github.peft4j.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.peft4j.models.text.ChatTemplate;
import io.github.peft4j.models.text.HfTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tokenization and chat templates agree with Python's {@code AutoTokenizer} (transformers 5.18; the expected values
 * were printed by {@code tokenizer(text)["input_ids"]} and {@code apply_chat_template(..., tokenize=False)}).
 */
class DecoderTokenizerTest {

    @TempDir
    Path tmp;

    private static final String TEXT = "Subject: free money!! Click here, now: http://x.example/?id=42 été";

    private static final long[] IDS = {
        55, 447, 78, 487, 30, 286, 268, 73, 287, 488, 93, 5, 5, 412, 80, 308, 79, 455, 268, 16, 314, 342, 30, 426, 348,
        92, 18, 73, 92, 326, 84, 318, 19, 35, 357, 33, 24, 22, 225, 132, 107, 88, 132, 107
    };

    @Test
    void byteLevelBpeAndChatTemplateMatchPython() throws IOException {
        for (String family : TinyDecoders.FAMILIES) {
            Path dir = TinyDecoders.copy(family, tmp).resolve("base");
            try (HfTokenizer t = HfTokenizer.open(dir)) {
                long[] ids = t.encode(TEXT, true);
                assertArrayEquals(IDS, ids, family);
                assertEquals(TEXT, t.decode(ids, true), family);
                assertEquals("qwen2".equals(family) ? 4L : 2L, t.eosTokenId(), family);
                assertEquals(0L, t.padTokenId(), family);
                String chat = t.applyChatTemplate(
                        List.of(
                                Map.of("role", "system", "content", "Be brief."),
                                Map.of("role", "user", "content", "Is this spam?")),
                        true);
                assertEquals(
                        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nIs this spam?<|im_end|>\n"
                                + "<|im_start|>assistant\n",
                        chat,
                        family);
                long[] chatIds = t.encode(chat, false);
                assertEquals(3L, chatIds[0], "<|im_start|> is one special token");
            }
        }
    }

    @Test
    void aQwenStyleTemplateRendersAsInPython() throws IOException {
        String source;
        try (InputStream in = getClass().getResourceAsStream("/qwen_like.jinja")) {
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        ChatTemplate t = new ChatTemplate(source);
        Map<String, String> special = Map.of("eos_token", "<|im_end|>");
        assertEquals(
                "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nIs this spam?<|im_end|>\n"
                        + "<|im_start|>assistant\nNo.<|im_end|>\n<|im_start|>user\nSure?<|im_end|>\n"
                        + "<|im_start|>assistant\n",
                t.render(
                        List.of(
                                Map.of("role", "user", "content", "  Is this spam?  "),
                                Map.of("role", "assistant", "content", "No."),
                                Map.of("role", "user", "content", "Sure?")),
                        true,
                        special));
        assertEquals(
                "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
                t.render(
                        List.of(
                                Map.of("role", "system", "content", "Be brief."),
                                Map.of("role", "user", "content", "Hi")),
                        false,
                        special));
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> t.render(List.of(Map.of("role", "tool", "content", "x")), false, special));
        assertTrue(e.getMessage().contains("unknown role tool"), e.getMessage());
    }
}
