package io.github.peft4j.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.io.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Tiny random decoders in the Hugging Face directory layout, written by Python's transformers 5.17 and PEFT 0.21,
 * with a LoRA adapter Python trained and the outputs Python computed: Llama (GQA, untied head), Qwen2 (q/k/v biases,
 * tied embeddings) and GPT-2 ({@code Conv1D}, {@code fan_in_fan_out}), each with a real byte-level BPE tokenizer of
 * 512 ids and a ChatML chat template. Parity tests of the decoder families read them; so can an application's tests.
 */
public final class TinyDecoders {

    /** The families there are. */
    public static final List<String> FAMILIES = List.of("llama", "qwen2", "gpt2");

    private static final List<String> FILES = List.of(
            "base/config.json",
            "base/generation_config.json",
            "base/model.safetensors",
            "base/special_tokens_map.json",
            "base/tokenizer.json",
            "base/tokenizer_config.json",
            "lora/adapter_config.json",
            "lora/adapter_model.safetensors",
            "expected_outputs.json");

    private TinyDecoders() {}

    /**
     * Copies one family's files into a directory: {@code base/} (the model directory), {@code lora/} (Python's
     * adapter) and {@code expected_outputs.json}.
     *
     * @param family one of {@link #FAMILIES}
     * @param into the directory to write into (a test's temporary directory)
     * @return {@code into/family}
     */
    public static Path copy(String family, Path into) {
        if (!FAMILIES.contains(family)) {
            throw new IllegalArgumentException("no tiny decoder '" + family + "'; there are " + FAMILIES);
        }
        Path root = into.resolve(family);
        try {
            for (String f : FILES) {
                Path dst = root.resolve(f);
                Files.createDirectories(dst.getParent());
                try (InputStream in = TinyDecoders.class.getResourceAsStream("decoders/" + family + "/" + f)) {
                    if (in == null) {
                        throw new IOException("resource decoders/" + family + "/" + f + " is missing");
                    }
                    Files.copy(in, dst);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return root;
    }

    /**
     * What Python computed on a family's model.
     *
     * @param inputIds [3][17] ids; the third row is padded after 12 tokens
     * @param attentionMask [3][17] 1 for tokens, 0 for padding
     * @param labels [3][17], −100 on padding
     * @param baseLogits the base model's logits, flattened [3, 17, 512]
     * @param loraLogits the logits with Python's LoRA adapter, flattened
     * @param loraLoss the causal-LM loss with the adapter
     * @param greedy greedy continuation (8 new tokens, with the 5-token prompt first) from the first 5 tokens of row 0
     */
    public record Expected(
            long[][] inputIds,
            long[][] attentionMask,
            long[][] labels,
            float[] baseLogits,
            float[] loraLogits,
            double loraLoss,
            long[] greedy) {}

    /**
     * Reads {@code expected_outputs.json} of a copied family.
     *
     * @param familyDir the directory {@link #copy} returned
     * @return the outputs
     */
    public static Expected expected(Path familyDir) {
        try {
            JsonNode j = Json.MAPPER.readTree(
                    familyDir.resolve("expected_outputs.json").toFile());
            return new Expected(
                    longs2(j.get("input_ids")),
                    longs2(j.get("attention_mask")),
                    longs2(j.get("labels")),
                    floats(j.get("base_logits")),
                    floats(j.get("lora_logits")),
                    j.get("lora_loss").asDouble(),
                    longs2(j.get("lora_greedy_from_first_5_tokens"))[0]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The largest absolute difference of two flattened logit arrays [batch, seq, vocab] over the positions a mask
     * marks as tokens (padded positions are left out: their values depend on the attention kernel).
     *
     * @param got the logits computed
     * @param want the logits expected
     * @param mask [batch][seq], 1 for tokens
     * @param vocab the vocabulary size
     * @return the largest difference
     */
    public static double maxDiffOnTokens(float[] got, float[] want, long[][] mask, int vocab) {
        double max = 0;
        int seq = mask[0].length;
        for (int b = 0; b < mask.length; b++) {
            for (int s = 0; s < seq; s++) {
                if (mask[b][s] == 0) {
                    continue;
                }
                for (int v = 0; v < vocab; v++) {
                    int i = (b * seq + s) * vocab + v;
                    max = Math.max(max, Math.abs(got[i] - want[i]));
                }
            }
        }
        return max;
    }

    private static long[][] longs2(JsonNode n) {
        long[][] out = new long[n.size()][];
        for (int i = 0; i < n.size(); i++) {
            out[i] = new long[n.get(i).size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = n.get(i).get(j).asLong();
            }
        }
        return out;
    }

    private static float[] floats(JsonNode n) {
        java.util.List<Float> acc = new java.util.ArrayList<>();
        flatten(n, acc);
        float[] out = new float[acc.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = acc.get(i);
        }
        return out;
    }

    private static void flatten(JsonNode n, List<Float> acc) {
        if (n.isArray()) {
            n.forEach(x -> flatten(x, acc));
        } else {
            acc.add((float) n.asDouble());
        }
    }

    /**
     * Writes 80 JSONL examples for {@code peft train --task causal-lm}: four random words (offers or work), labelled
     * "spam" or "ham"; every third a chat ({@code messages}), the others {@code prompt}/{@code completion}, so that
     * lengths and counted tokens differ; seed 1.
     *
     * @param file the file to write
     * @throws IOException if writing fails
     */
    public static void writeLabelJsonl(Path file) throws IOException {
        String[] words = {
            "free",
            "money",
            "click",
            "here",
            "meeting",
            "tomorrow",
            "report",
            "invoice",
            "winner",
            "prize",
            "lunch",
            "project"
        };
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < 80; i++) {
            List<String> w = new java.util.ArrayList<>();
            for (int k = 0; k < 4; k++) {
                w.add(words[r.nextInt(words.length)]);
            }
            boolean spam = w.contains("free") || w.contains("money") || w.contains("winner") || w.contains("prize");
            String text = String.join(" ", w);
            lines.add(
                    i % 3 == 0
                            ? "{\"messages\":[{\"role\":\"user\",\"content\":\"Is this spam? " + text
                                    + "\"},{\"role\":\"assistant\",\"content\":\"" + (spam ? "spam" : "ham")
                                    + "\"}]}"
                            : "{\"prompt\":\"Subject: " + text + "\\nLabel:\",\"completion\":\""
                                    + (spam ? " spam" : " ham") + "\"}");
        }
        Files.write(file, lines, java.nio.charset.StandardCharsets.UTF_8);
    }
}
