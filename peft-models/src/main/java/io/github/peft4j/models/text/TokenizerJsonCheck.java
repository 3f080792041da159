package io.github.peft4j.models.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Checks a {@code tokenizer.json} before the tokenizers library reads it. That library (Rust, called through DJL's JNI
 * binding) panics instead of failing on some malformed files, and a panic cannot cross JNI: the whole JVM aborts
 * (found by fuzzing; the same class of bug as huggingface/tokenizers PR 2151). This check refuses, with an
 * {@link IOException} naming what is wrong, the inputs known to panic: JSON that Rust's serde_json rejects where the
 * library expects it not to (invalid syntax, nesting deeper than serde_json's limit, numbers out of range, duplicate
 * keys, unpaired surrogates: inside a decoder or normalizer the library turns serde_json's error into a panic), and
 * the semantic cases that panic in the library DJL 0.36 bundles (tokenizers 0.21.4: truncation stride ≥ max_length, a
 * template that names a special token it does not define, a fixed-length pre-tokenizer of length 0, a precompiled
 * normalizer charsmap that is not one). Files Hugging Face writes pass.
 */
public final class TokenizerJsonCheck {

    /** serde_json's recursion limit is 128; anything near it is no tokenizer. */
    static final int MAX_DEPTH = 100;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(
                    StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
            .build();

    private static final ObjectMapper MAPPER = JsonMapper.builder(FACTORY)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private TokenizerJsonCheck() {}

    /**
     * Checks a file.
     *
     * @param file a {@code tokenizer.json}
     * @throws IOException naming the file and what is wrong, if it is not one the library reads without panicking
     */
    public static void check(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        try {
            StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes));
        } catch (CharacterCodingException e) {
            throw new IOException(file + " is not UTF-8 text", e);
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new IOException(file + " is not a tokenizer.json: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(file + " is not a tokenizer.json: expected a JSON object");
        }
        String bad = values(root);
        if (bad != null) {
            throw new IOException(file + " is not a tokenizer.json: " + bad);
        }
        String problem = semantic(root);
        if (problem != null) {
            throw new IOException(file + " is not a tokenizer the tokenizers library can read safely: " + problem);
        }
    }

    /** The first value serde_json would refuse (a number out of range, an unpaired surrogate), or null. */
    private static String values(JsonNode n) {
        if (n.isFloatingPointNumber() && !Double.isFinite(n.doubleValue())) {
            return "number " + n.asText() + " is out of range";
        }
        if (n.isTextual() && unpairedSurrogate(n.textValue())) {
            return "string with an unpaired surrogate";
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (unpairedSurrogate(e.getKey())) {
                return "key with an unpaired surrogate";
            }
            String bad = values(e.getValue());
            if (bad != null) {
                return bad;
            }
        }
        if (n.isArray()) {
            for (JsonNode e : n) {
                String bad = values(e);
                if (bad != null) {
                    return bad;
                }
            }
        }
        return null;
    }

    private static boolean unpairedSurrogate(String s) {
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
                    return true;
                }
                i += 2;
            } else if (Character.isLowSurrogate(c)) {
                return true;
            } else {
                i++;
            }
        }
        return false;
    }

    /** The first known panic the file would reach, or null. */
    private static String semantic(JsonNode root) {
        JsonNode trunc = root.get("truncation");
        if (trunc != null && trunc.isObject()) {
            long max = trunc.path("max_length").asLong(0);
            long stride = trunc.path("stride").asLong(0);
            if (stride >= max) {
                return "truncation.stride " + stride + " must be smaller than truncation.max_length " + max;
            }
        }
        String p = processors(root.get("post_processor"), "post_processor");
        if (p != null) {
            return p;
        }
        p = components(root.get("pre_tokenizer"), "pre_tokenizer");
        if (p != null) {
            return p;
        }
        return components(root.get("normalizer"), "normalizer");
    }

    private static String processors(JsonNode n, String where) {
        if (n == null || !n.isObject()) {
            return null;
        }
        String type = n.path("type").asText("");
        if (type.equals("Sequence")) {
            JsonNode list = n.get("processors");
            if (list != null && list.isArray()) {
                for (int i = 0; i < list.size(); i++) {
                    String p = processors(list.get(i), where + ".processors[" + i + "]");
                    if (p != null) {
                        return p;
                    }
                }
            }
            return null;
        }
        if (!type.equals("TemplateProcessing")) {
            return null;
        }
        Set<String> defined = new HashSet<>();
        JsonNode special = n.get("special_tokens");
        if (special != null && special.isObject()) {
            special.fieldNames().forEachRemaining(defined::add);
        }
        for (String t : new String[] {"single", "pair"}) {
            JsonNode parts = n.get(t);
            if (parts == null || !parts.isArray()) {
                continue;
            }
            for (JsonNode part : parts) {
                JsonNode sp = part.get("SpecialToken");
                if (sp != null
                        && sp.has("id")
                        && !defined.contains(sp.path("id").asText())) {
                    return where + "." + t + " names the special token '"
                            + sp.path("id").asText() + "', which special_tokens does not define";
                }
            }
        }
        return null;
    }

    /** Pre-tokenizers and normalizers, recursing into sequences. */
    private static String components(JsonNode n, String where) {
        if (n == null || !n.isObject()) {
            return null;
        }
        String type = n.path("type").asText("");
        for (String key : new String[] {"pretokenizers", "normalizers"}) {
            JsonNode list = n.get(key);
            if (type.equals("Sequence") && list != null && list.isArray()) {
                for (int i = 0; i < list.size(); i++) {
                    String p = components(list.get(i), where + "." + key + "[" + i + "]");
                    if (p != null) {
                        return p;
                    }
                }
            }
        }
        if (type.equals("FixedLength") && n.path("length").asLong(5) <= 0) {
            return where + ": a FixedLength pre-tokenizer needs length ≥ 1";
        }
        if (type.equals("Precompiled")) {
            return precompiled(n.get("precompiled_charsmap"), where);
        }
        return null;
    }

    /** The charsmap: base64 of a u32 trie size, the trie (u32 entries), then the normalized strings. */
    private static String precompiled(JsonNode map, String where) {
        if (map == null || !map.isTextual()) {
            return where + ": precompiled_charsmap must be a base64 string";
        }
        byte[] b;
        try {
            b = Base64.getDecoder().decode(map.asText());
        } catch (IllegalArgumentException e) {
            return where + ": precompiled_charsmap is not base64";
        }
        if (b.length < 4) {
            return where + ": precompiled_charsmap is too short";
        }
        long trie = Integer.toUnsignedLong(
                ByteBuffer.wrap(b, 0, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
        if (trie % 4 != 0 || 4 + trie > b.length) {
            return where + ": precompiled_charsmap's trie size " + trie + " does not fit its " + b.length + " bytes";
        }
        try {
            StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b, (int) (4 + trie), (int)
                    (b.length - 4 - trie)));
        } catch (CharacterCodingException e) {
            return where + ": precompiled_charsmap's strings are not UTF-8";
        }
        return null;
    }
}
