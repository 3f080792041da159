package io.github.peft4j.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The fields of a Hugging Face decoder {@code config.json} that peft4j's decoder blocks need, for every
 * {@link DecoderFamily}. GPT-2's own names ({@code n_embd}, {@code n_layer}, ...) are read into the same fields.
 *
 * @param family the family
 * @param vocabSize {@code vocab_size}
 * @param hiddenSize {@code hidden_size} ({@code n_embd})
 * @param numLayers {@code num_hidden_layers} ({@code n_layer})
 * @param numHeads {@code num_attention_heads} ({@code n_head})
 * @param numKvHeads {@code num_key_value_heads} (grouped-query attention; = numHeads when absent)
 * @param headDim {@code head_dim} (hidden_size / num_attention_heads when absent)
 * @param intermediateSize {@code intermediate_size} ({@code n_inner}, 4 × n_embd when null)
 * @param maxPositions {@code max_position_embeddings} ({@code n_positions})
 * @param normEps {@code rms_norm_eps} ({@code layer_norm_epsilon})
 * @param activation {@code hidden_act} ({@code activation_function}): silu, gelu, gelu_new, gelu_pytorch_tanh
 * @param qkvBias whether q, k and v projections have a bias
 * @param outputBias whether o_proj has a bias
 * @param mlpBias whether the MLP projections have biases
 * @param qkNorm whether queries and keys are RMS-normalised per head (Qwen3)
 * @param tieWordEmbeddings {@code tie_word_embeddings}: the output layer reads the input embedding
 * @param slidingWindow the attention window (0: unlimited)
 * @param rope the rotary embedding, or null (GPT-2's learned positions)
 * @param attentionDropout dropout on attention probabilities while training
 * @param residualDropout dropout on each block's output while training (GPT-2's {@code resid_pdrop})
 * @param embeddingDropout dropout on the embeddings while training (GPT-2's {@code embd_pdrop})
 * @param initializerRange {@code initializer_range}: the std of randomly initialised weights
 * @param bosTokenId {@code bos_token_id}, or null
 * @param eosTokenIds {@code eos_token_id} (one or several)
 * @param padTokenId {@code pad_token_id}, or null
 * @param json the whole file, written back unchanged when a merged model is saved
 */
public record DecoderConfig(
        DecoderFamily family,
        int vocabSize,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int intermediateSize,
        int maxPositions,
        double normEps,
        String activation,
        boolean qkvBias,
        boolean outputBias,
        boolean mlpBias,
        boolean qkNorm,
        boolean tieWordEmbeddings,
        int slidingWindow,
        Rope rope,
        double attentionDropout,
        double residualDropout,
        double embeddingDropout,
        double initializerRange,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Integer padTokenId,
        ObjectNode json) {

    /** Activations the MLPs compute. */
    public static final List<String> ACTIVATIONS = List.of("silu", "swish", "gelu", "gelu_new", "gelu_pytorch_tanh");

    /** Validates. */
    public DecoderConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("num_hidden_layers", numLayers);
        positive("num_attention_heads", numHeads);
        positive("num_key_value_heads", numKvHeads);
        positive("head_dim", headDim);
        positive("intermediate_size", intermediateSize);
        positive("max_position_embeddings", maxPositions);
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numHeads + ") must be a multiple of"
                    + " num_key_value_heads (" + numKvHeads + ")");
        }
        if (headDim % 2 != 0 && rope != null) {
            throw new IllegalArgumentException("head_dim must be even for rotary embeddings; got " + headDim);
        }
        if (!ACTIVATIONS.contains(activation)) {
            throw new IllegalArgumentException(
                    "activation '" + activation + "' is not supported; supported: " + ACTIVATIONS);
        }
        if (!(normEps > 0)) {
            throw new IllegalArgumentException("the norm epsilon must be > 0; got " + normEps);
        }
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    private static void positive(String field, int v) {
        if (v < 1) {
            throw new IllegalArgumentException("DecoderConfig." + field + " must be ≥ 1; got " + v);
        }
    }

    /**
     * Reads {@code config.json} of a model directory.
     *
     * @param dir the directory
     * @return the config
     * @throws IOException if the file is missing or not JSON
     * @throws IllegalArgumentException if the architecture is not supported or a field is invalid (naming it)
     */
    public static DecoderConfig read(Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new IOException("not a Hugging Face model directory: " + file + " is missing");
        }
        return fromJson(Json.readObject(file), file.toString());
    }

    /**
     * Reads a {@code config.json} object.
     *
     * @param c the object
     * @param source where it came from, for messages
     * @return the config
     * @throws IllegalArgumentException if the architecture is not supported or a field is missing or invalid
     */
    public static DecoderConfig fromJson(ObjectNode c, String source) {
        DecoderFamily family = DecoderFamily.of(c.path("model_type").asText(null), source);
        JsonNode archs = c.path("architectures");
        if (archs.isArray()
                && archs.size() > 0
                && !family.architecture().equals(archs.get(0).asText())) {
            throw new IllegalArgumentException(
                    source + ": architecture " + archs.get(0).asText() + " of model_type '" + family.modelType()
                            + "' is not supported; peft4j builds " + family.architecture());
        }
        if (family == DecoderFamily.GPT2) {
            return gpt2(c, source);
        }
        int hidden = required(c, "hidden_size", source);
        int heads = required(c, "num_attention_heads", source);
        int maxPos = c.path("max_position_embeddings").asInt(2048);
        boolean qwen2 = family == DecoderFamily.QWEN2;
        boolean attnBias = c.path("attention_bias").asBoolean(false);
        if (family != DecoderFamily.MISTRAL && c.path("use_sliding_window").asBoolean(false)) {
            throw new IllegalArgumentException(source + ": use_sliding_window=true (sliding attention on some"
                    + " layers) is not supported for " + family.modelType());
        }
        int window = family == DecoderFamily.MISTRAL ? c.path("sliding_window").asInt(0) : 0;
        return new DecoderConfig(
                family,
                required(c, "vocab_size", source),
                hidden,
                required(c, "num_hidden_layers", source),
                heads,
                c.path("num_key_value_heads").asInt(heads),
                c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads,
                required(c, "intermediate_size", source),
                maxPos,
                c.path("rms_norm_eps").asDouble(1e-6),
                c.path("hidden_act").asText("silu"),
                qwen2 || attnBias,
                !qwen2 && attnBias,
                c.path("mlp_bias").asBoolean(false),
                family == DecoderFamily.QWEN3,
                c.path("tie_word_embeddings").asBoolean(false),
                window,
                Rope.fromConfig(c, maxPos, source),
                c.path("attention_dropout").asDouble(0),
                0,
                0,
                c.path("initializer_range").asDouble(0.02),
                intOrNull(c, "bos_token_id"),
                ids(c.path("eos_token_id")),
                intOrNull(c, "pad_token_id"),
                c.deepCopy());
    }

    private static DecoderConfig gpt2(ObjectNode c, String source) {
        int hidden = required(c, "n_embd", source);
        int heads = required(c, "n_head", source);
        if (c.path("add_cross_attention").asBoolean(false)) {
            throw new IllegalArgumentException(source + ": GPT-2 with cross-attention is not supported");
        }
        if (c.path("scale_attn_by_inverse_layer_idx").asBoolean(false)
                || c.path("reorder_and_upcast_attn").asBoolean(false)
                || !c.path("scale_attn_weights").asBoolean(true)) {
            throw new IllegalArgumentException(source + ": GPT-2 attention options scale_attn_by_inverse_layer_idx,"
                    + " reorder_and_upcast_attn and scale_attn_weights=false are not supported");
        }
        return new DecoderConfig(
                DecoderFamily.GPT2,
                required(c, "vocab_size", source),
                hidden,
                required(c, "n_layer", source),
                heads,
                heads,
                hidden / heads,
                c.hasNonNull("n_inner") ? c.get("n_inner").asInt() : 4 * hidden,
                c.path("n_positions").asInt(1024),
                c.path("layer_norm_epsilon").asDouble(1e-5),
                c.path("activation_function").asText("gelu_new"),
                true,
                true,
                true,
                false,
                c.path("tie_word_embeddings").asBoolean(true),
                0,
                null,
                c.path("attn_pdrop").asDouble(0.1),
                c.path("resid_pdrop").asDouble(0.1),
                c.path("embd_pdrop").asDouble(0.1),
                c.path("initializer_range").asDouble(0.02),
                intOrNull(c, "bos_token_id"),
                ids(c.path("eos_token_id")),
                intOrNull(c, "pad_token_id"),
                c.deepCopy());
    }

    private static int required(ObjectNode c, String key, String source) {
        JsonNode v = c.get(key);
        if (v == null || !v.canConvertToInt()) {
            throw new IllegalArgumentException(source + ": " + key + " is missing or not an integer");
        }
        return v.asInt();
    }

    private static Integer intOrNull(ObjectNode c, String key) {
        return c.path(key).canConvertToInt() ? c.get(key).asInt() : null;
    }

    private static List<Integer> ids(JsonNode v) {
        List<Integer> out = new ArrayList<>();
        if (v.isArray()) {
            v.forEach(x -> out.add(x.asInt()));
        } else if (v.canConvertToInt()) {
            out.add(v.asInt());
        }
        return out;
    }

    /**
     * The number of query heads per key/value head.
     *
     * @return num_attention_heads / num_key_value_heads
     */
    public int groups() {
        return numHeads / numKvHeads;
    }
}
