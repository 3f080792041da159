package io.github.peft4j.models.text;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.io.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads causal-LM training data from JSON Lines, one example per line, in the three shapes Hugging Face's TRL reads:
 * <ul>
 *   <li>{@code {"prompt": "...", "completion": "..."}}: the prompt (with the tokenizer's special tokens) then the
 *       completion and the end-of-sequence token; only the completion counts unless {@code completionOnly} is off;
 *   <li>{@code {"messages": [{"role": ..., "content": ...}, ...]}}: rendered with the model's chat template; the last
 *       message must be the assistant's, and only it counts unless {@code completionOnly} is off;
 *   <li>{@code {"text": "..."}}: every token counts.
 * </ul>
 * Sequences longer than {@code maxLength} are cut at the end; an example left with no counted token is dropped.
 *
 * @param ids each example's token ids
 * @param counted which positions' tokens count in the loss
 * @param truncated how many examples were cut to maxLength
 * @param dropped how many examples were dropped (nothing left to learn after the cut)
 */
public record CausalLmExamples(List<long[]> ids, List<boolean[]> counted, int truncated, int dropped) {

    /**
     * Reads and tokenizes a file.
     *
     * @param file the JSONL file
     * @param tokenizer the model's tokenizer
     * @param maxLength the longest sequence kept (tokens)
     * @param completionOnly whether only completions (last assistant turns) count in the loss
     * @return the tokenized examples
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException naming the file and line of an example that is not one of the three shapes
     */
    public static CausalLmExamples read(Path file, HfTokenizer tokenizer, int maxLength, boolean completionOnly)
            throws IOException {
        if (maxLength < 2) {
            throw new IllegalArgumentException("maxLength must be ≥ 2; got " + maxLength);
        }
        List<long[]> ids = new ArrayList<>();
        List<boolean[]> counted = new ArrayList<>();
        int truncated = 0;
        int dropped = 0;
        Long eos = tokenizer.eosTokenId();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                String where = file + ":" + n;
                JsonNode j;
                try {
                    j = Json.MAPPER.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new IllegalArgumentException(where + " is not JSON: " + e.getOriginalMessage(), e);
                }
                long[] prompt;
                long[] all;
                if (j.path("prompt").isTextual() && j.path("completion").isTextual()) {
                    prompt = tokenizer.encode(j.get("prompt").asText(), true);
                    long[] completion = tokenizer.encode(j.get("completion").asText(), false);
                    all = concat(prompt, completion, eos);
                } else if (j.path("messages").isArray()) {
                    List<Map<String, Object>> messages = messages(j.get("messages"), where);
                    if (!"assistant".equals(messages.get(messages.size() - 1).get("role"))) {
                        throw new IllegalArgumentException(
                                where + ": the last message must be the assistant's (the" + " turn the model learns)");
                    }
                    String head = tokenizer.applyChatTemplate(messages.subList(0, messages.size() - 1), true);
                    String full = tokenizer.applyChatTemplate(messages, false);
                    prompt = tokenizer.encode(head, false);
                    all = tokenizer.encode(full, false);
                    if (all.length < prompt.length || !Arrays.equals(Arrays.copyOf(all, prompt.length), prompt)) {
                        prompt = new long[0]; // the template does not render the prompt as a prefix: count it all
                    }
                } else if (j.path("text").isTextual()) {
                    prompt = new long[0];
                    all = concat(tokenizer.encode(j.get("text").asText(), true), new long[0], eos);
                } else {
                    throw new IllegalArgumentException(where + ": expected {\"prompt\", \"completion\"},"
                            + " {\"messages\": [...]} or {\"text\"}; got keys " + fieldNames(j));
                }
                int from = completionOnly ? prompt.length : 0;
                if (all.length > maxLength) {
                    all = Arrays.copyOf(all, maxLength);
                    truncated++;
                }
                boolean[] mask = new boolean[all.length];
                for (int t = Math.max(from, 1); t < all.length; t++) {
                    mask[t] = true;
                }
                if (all.length < 2 || from >= all.length) {
                    dropped++;
                    continue;
                }
                ids.add(all);
                counted.add(mask);
            }
        }
        if (ids.isEmpty()) {
            throw new IllegalArgumentException(file + " has no usable example"
                    + (dropped > 0
                            ? " (" + dropped + " dropped: their prompts fill max length " + maxLength + ")"
                            : ""));
        }
        return new CausalLmExamples(ids, counted, truncated, dropped);
    }

    private static long[] concat(long[] a, long[] b, Long eos) {
        long[] out = Arrays.copyOf(a, a.length + b.length + (eos == null ? 0 : 1));
        System.arraycopy(b, 0, out, a.length, b.length);
        if (eos != null) {
            out[out.length - 1] = eos;
        }
        return out;
    }

    private static List<Map<String, Object>> messages(JsonNode array, String where) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (JsonNode m : array) {
            if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                throw new IllegalArgumentException(where + ": every message needs string 'role' and 'content'");
            }
            Map<String, Object> msg = new LinkedHashMap<>();
            msg.put("role", m.get("role").asText());
            msg.put("content", m.get("content").asText());
            out.add(msg);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(where + ": messages is empty");
        }
        return out;
    }

    private static List<String> fieldNames(JsonNode j) {
        List<String> names = new ArrayList<>();
        j.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
