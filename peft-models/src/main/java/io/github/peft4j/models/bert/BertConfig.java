package io.github.peft4j.models.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The fields of a Hugging Face BERT-family {@code config.json} that the encoder needs. Covers BERT, MiniLM,
 * e5/bge-small
 * style checkpoints ({@code model_type} bert).
 *
 * @param vocabSize {@code vocab_size}
 * @param hiddenSize {@code hidden_size}
 * @param numHiddenLayers {@code num_hidden_layers}
 * @param numAttentionHeads {@code num_attention_heads}
 * @param intermediateSize {@code intermediate_size}
 * @param maxPositionEmbeddings {@code max_position_embeddings}
 * @param typeVocabSize {@code type_vocab_size}
 * @param layerNormEps {@code layer_norm_eps}
 * @param hiddenDropoutProb {@code hidden_dropout_prob}
 * @param attentionProbsDropoutProb {@code attention_probs_dropout_prob}
 * @param classifierDropout {@code classifier_dropout} (null: use hidden_dropout_prob)
 * @param numLabels the number of labels of a classification head ({@code id2label} size, default 2)
 * @param initializerRange {@code initializer_range}, the std of freshly initialised heads
 */
public record BertConfig(
        int vocabSize,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int intermediateSize,
        int maxPositionEmbeddings,
        int typeVocabSize,
        double layerNormEps,
        double hiddenDropoutProb,
        double attentionProbsDropoutProb,
        Double classifierDropout,
        int numLabels,
        double initializerRange) {

    /** Validates. */
    public BertConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("intermediate_size", intermediateSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
        positive("type_vocab_size", typeVocabSize);
        positive("num_labels", numLabels);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("BertConfig.hidden_size (" + hiddenSize + ") must be a multiple of"
                    + " num_attention_heads (" + numAttentionHeads + ")");
        }
        if (!(layerNormEps > 0)) {
            throw new IllegalArgumentException("BertConfig.layer_norm_eps must be > 0; got " + layerNormEps);
        }
    }

    private static void positive(String field, int v) {
        if (v < 1) {
            throw new IllegalArgumentException("BertConfig." + field + " must be ≥ 1; got " + v);
        }
    }

    /**
     * Returns the width of one attention head.
     *
     * @return hidden_size / num_attention_heads
     */
    public int headSize() {
        return hiddenSize / numAttentionHeads;
    }

    /**
     * Returns a copy with another number of labels.
     *
     * @param n the number of labels
     * @return the config
     */
    public BertConfig withNumLabels(int n) {
        return new BertConfig(
                vocabSize,
                hiddenSize,
                numHiddenLayers,
                numAttentionHeads,
                intermediateSize,
                maxPositionEmbeddings,
                typeVocabSize,
                layerNormEps,
                hiddenDropoutProb,
                attentionProbsDropoutProb,
                classifierDropout,
                n,
                initializerRange);
    }

    /**
     * Reads {@code config.json}.
     *
     * @param file the file
     * @return the config
     * @throws IOException if the file cannot be read, is not JSON, lacks a field or is not a BERT-family config; the
     *     message names the file and the field
     */
    public static BertConfig read(Path file) throws IOException {
        ObjectNode j = Json.readObject(file);
        try {
            return fromJson(j);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads the JSON object of {@code config.json}.
     *
     * @param j the object
     * @return the config
     */
    public static BertConfig fromJson(ObjectNode j) {
        String type = j.path("model_type").asText("bert");
        if (!type.equals("bert")) {
            throw new IllegalArgumentException("model_type is '" + type + "'; the BERT family loader reads"
                    + " model_type 'bert' (BERT, MiniLM, e5, bge)");
        }
        String act = j.path("hidden_act").asText("gelu");
        if (!act.equals("gelu")) {
            throw new IllegalArgumentException("hidden_act '" + act + "' is not supported; expected 'gelu' (exact)");
        }
        String pos = j.path("position_embedding_type").asText("absolute");
        if (!pos.equals("absolute")) {
            throw new IllegalArgumentException(
                    "position_embedding_type '" + pos + "' is not supported; expected" + " 'absolute'");
        }
        int labels = j.has("id2label")
                ? j.get("id2label").size()
                : j.path("num_labels").asInt(2);
        JsonNode cd = j.get("classifier_dropout");
        return new BertConfig(
                req(j, "vocab_size"),
                req(j, "hidden_size"),
                req(j, "num_hidden_layers"),
                req(j, "num_attention_heads"),
                req(j, "intermediate_size"),
                j.path("max_position_embeddings").asInt(512),
                j.path("type_vocab_size").asInt(2),
                j.path("layer_norm_eps").asDouble(1e-12),
                j.path("hidden_dropout_prob").asDouble(0.1),
                j.path("attention_probs_dropout_prob").asDouble(0.1),
                cd == null || cd.isNull() ? null : cd.asDouble(),
                Math.max(labels, 1),
                j.path("initializer_range").asDouble(0.02));
    }

    private static int req(ObjectNode j, String field) {
        JsonNode v = j.get(field);
        if (v == null || !v.canConvertToInt()) {
            throw new IllegalArgumentException("config.json needs an integer '" + field + "'; got " + v);
        }
        return v.asInt();
    }

    /**
     * Writes {@code config.json} as transformers does for {@code BertModel}.
     *
     * @return the JSON object
     */
    public ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.putArray("architectures").add("BertModel");
        o.put("model_type", "bert");
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("intermediate_size", intermediateSize);
        o.put("hidden_act", "gelu");
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("type_vocab_size", typeVocabSize);
        o.put("layer_norm_eps", layerNormEps);
        o.put("hidden_dropout_prob", hiddenDropoutProb);
        o.put("attention_probs_dropout_prob", attentionProbsDropoutProb);
        if (classifierDropout == null) {
            o.putNull("classifier_dropout");
        } else {
            o.put("classifier_dropout", classifierDropout);
        }
        o.put("initializer_range", initializerRange);
        o.put("position_embedding_type", "absolute");
        o.put("pad_token_id", 0);
        // transformers records the number of labels as id2label / label2id
        ObjectNode id2label = o.putObject("id2label");
        ObjectNode label2id = o.putObject("label2id");
        for (int i = 0; i < numLabels; i++) {
            id2label.put(Integer.toString(i), "LABEL_" + i);
            label2id.put("LABEL_" + i, i);
        }
        return o;
    }
}
