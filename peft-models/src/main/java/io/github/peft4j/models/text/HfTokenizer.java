package io.github.peft4j.models.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer of a Hugging Face model directory: {@code tokenizer.json} (any model the Rust {@code tokenizers}
 * library reads, byte-level BPE included, through DJL's binding) with the special tokens and chat template of
 * {@code tokenizer_config.json} (or {@code chat_template.jinja}).
 */
public final class HfTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final Map<String, String> specialTokens;
    private final ChatTemplate chatTemplate;
    private final int modelMaxLength;
    private final Path dir;

    private HfTokenizer(
            HuggingFaceTokenizer tokenizer,
            Map<String, String> specialTokens,
            ChatTemplate chatTemplate,
            int modelMaxLength,
            Path dir) {
        this.tokenizer = tokenizer;
        this.specialTokens = specialTokens;
        this.chatTemplate = chatTemplate;
        this.modelMaxLength = modelMaxLength;
        this.dir = dir;
    }

    /**
     * Opens the tokenizer of a model directory.
     *
     * @param dir the directory
     * @return the tokenizer; close it when done
     * @throws IOException if {@code tokenizer.json} is missing or unreadable, or {@code tokenizer_config.json} is not
     *     JSON
     */
    public static HfTokenizer open(Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new IOException("tokenizer missing: " + file + " (peft4j reads the fast tokenizer's tokenizer.json;"
                    + " save it with Python's AutoTokenizer.save_pretrained)");
        }
        TokenizerJsonCheck.check(file); // the library aborts the JVM on some malformed files
        HuggingFaceTokenizer t;
        try {
            t = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optTruncation(false)
                    .optPadding(false)
                    .optAddSpecialTokens(true)
                    .build();
        } catch (RuntimeException e) {
            throw new IOException(file + " is not a tokenizer the tokenizers library reads: " + e.getMessage(), e);
        }
        Map<String, String> special = new HashMap<>();
        String template = null;
        int maxLength = Integer.MAX_VALUE;
        Path configFile = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(configFile)) {
            ObjectNode cfg = Json.readObject(configFile);
            for (String k : List.of("bos_token", "eos_token", "pad_token", "unk_token")) {
                String v = token(cfg.get(k));
                if (v != null) {
                    special.put(k, v);
                }
            }
            JsonNode ct = cfg.get("chat_template");
            if (ct != null && ct.isTextual()) {
                template = ct.asText();
            } else if (ct != null && ct.isArray()) {
                for (JsonNode named : ct) {
                    if ("default".equals(named.path("name").asText())) {
                        template = named.path("template").asText();
                    }
                }
            }
            if (cfg.path("model_max_length").canConvertToInt()) {
                maxLength = cfg.get("model_max_length").asInt();
            }
        }
        Path jinja = dir.resolve("chat_template.jinja");
        if (template == null && Files.isRegularFile(jinja)) {
            template = Files.readString(jinja);
        }
        return new HfTokenizer(t, special, template == null ? null : new ChatTemplate(template), maxLength, dir);
    }

    private static String token(JsonNode v) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isTextual()) {
            return v.asText();
        }
        return v.path("content").isTextual() ? v.get("content").asText() : null;
    }

    /**
     * Encodes text.
     *
     * @param text the text
     * @param addSpecialTokens whether the tokenizer's post-processor adds its special tokens (a BOS, for some)
     * @return the ids
     */
    public long[] encode(String text, boolean addSpecialTokens) {
        return tokenizer.encode(text, addSpecialTokens, false).getIds();
    }

    /**
     * Decodes ids.
     *
     * @param ids the ids
     * @param skipSpecialTokens whether to leave special tokens out
     * @return the text
     */
    public String decode(long[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    /**
     * The id of a token that the tokenizer keeps whole (a special token).
     *
     * @param token the token text
     * @return its id, or null if it is not one token
     */
    public Long tokenId(String token) {
        if (token == null) {
            return null;
        }
        long[] ids = encode(token, false);
        return ids.length == 1 ? ids[0] : null;
    }

    /**
     * A special token from {@code tokenizer_config.json}.
     *
     * @param name {@code bos_token}, {@code eos_token}, {@code pad_token} or {@code unk_token}
     * @return the token text, or null
     */
    public String specialToken(String name) {
        return specialTokens.get(name);
    }

    /**
     * The id of the end-of-sequence token.
     *
     * @return the id, or null
     */
    public Long eosTokenId() {
        return tokenId(specialTokens.get("eos_token"));
    }

    /**
     * The id of the padding token.
     *
     * @return the id, or null
     */
    public Long padTokenId() {
        return tokenId(specialTokens.get("pad_token"));
    }

    /**
     * {@code model_max_length} of {@code tokenizer_config.json}.
     *
     * @return the length, {@link Integer#MAX_VALUE} when unset
     */
    public int modelMaxLength() {
        return modelMaxLength;
    }

    /**
     * Whether the directory has a chat template.
     *
     * @return true if {@link #applyChatTemplate} works
     */
    public boolean hasChatTemplate() {
        return chatTemplate != null;
    }

    /**
     * Renders a conversation with the model's chat template.
     *
     * @param messages the messages ({@code role}, {@code content})
     * @param addGenerationPrompt whether to open the assistant's turn
     * @return the prompt text (encode it without special tokens: the template has them)
     * @throws IllegalStateException if the directory has no chat template
     * @throws IllegalArgumentException if the template fails or refuses the conversation
     */
    public String applyChatTemplate(List<Map<String, Object>> messages, boolean addGenerationPrompt) {
        if (chatTemplate == null) {
            throw new IllegalStateException(dir + " has no chat template (tokenizer_config.json has no chat_template"
                    + " and there is no chat_template.jinja); use prompt/completion or text data instead");
        }
        return chatTemplate.render(messages, addGenerationPrompt, specialTokens);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
