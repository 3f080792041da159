package io.github.peft4j.prompt;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.models.decoder.DecoderConfig;

/**
 * Prefix tuning: {@code num_virtual_tokens} learned keys and values in every layer, which every position attends to
 * as to a cached past, as Python PEFT's {@code PrefixTuningConfig} without projection. For grouped-query attention the
 * prefix has the key/value heads' width, as Python sets it: {@code token_dim} = kv heads × head dim,
 * {@code num_attention_heads} = kv heads. Create one for a model with {@link #forModel(DecoderConfig, int)}.
 *
 * @param numVirtualTokens {@code num_virtual_tokens}
 * @param tokenDim {@code token_dim}: kv heads × head dim
 * @param numAttentionHeads {@code num_attention_heads}: the key/value heads
 * @param numLayers {@code num_layers}
 * @param baseModel {@code base_model_name_or_path}
 */
public record PrefixTuningConfig(
        int numVirtualTokens, long tokenDim, int numAttentionHeads, int numLayers, String baseModel)
        implements PromptLearningConfig {

    /** The {@code peft_type} of prefix tuning, as in Python PEFT. */
    public static final String PEFT_TYPE = "PREFIX_TUNING";

    /** Validates. */
    public PrefixTuningConfig {
        if (numVirtualTokens < 1 || numAttentionHeads < 1 || numLayers < 1 || tokenDim % numAttentionHeads != 0) {
            throw new IllegalArgumentException("PrefixTuningConfig: need num_virtual_tokens, num_attention_heads,"
                    + " num_layers ≥ 1 and token_dim a multiple of num_attention_heads; got " + numVirtualTokens + ", "
                    + numAttentionHeads + ", " + numLayers + ", " + tokenDim);
        }
    }

    /**
     * The config for a model.
     *
     * @param model the decoder's config
     * @param virtualTokens the number of virtual tokens
     * @return the config
     */
    public static PrefixTuningConfig forModel(DecoderConfig model, int virtualTokens) {
        return new PrefixTuningConfig(
                virtualTokens,
                (long) model.numKvHeads() * model.headDim(),
                model.numKvHeads(),
                model.numLayers(),
                null);
    }

    /**
     * This config naming its base model.
     *
     * @param name {@code base_model_name_or_path}
     * @return the config
     */
    public PrefixTuningConfig withBaseModel(String name) {
        return new PrefixTuningConfig(numVirtualTokens, tokenDim, numAttentionHeads, numLayers, name);
    }

    /** The head dimension of the prefix's keys and values. */
    long headDim() {
        return tokenDim / numAttentionHeads;
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    /** Keys and values of every layer: layers × 2 × token_dim. */
    @Override
    public long width() {
        return (long) numLayers * 2 * tokenDim;
    }

    @Override
    public void requireFits(DecoderConfig model) {
        if (numLayers != model.numLayers() || numAttentionHeads != model.numKvHeads() || headDim() != model.headDim()) {
            throw new IllegalArgumentException("the prefix-tuning adapter has " + numLayers + " layers of "
                    + numAttentionHeads + " key/value heads of " + headDim() + " but the model has "
                    + model.numLayers() + " of " + model.numKvHeads() + " of " + model.headDim()
                    + ": is it the adapter of another model?");
        }
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o =
                PromptJson.common(PEFT_TYPE, numVirtualTokens, tokenDim, numAttentionHeads, numLayers, baseModel);
        o.put("encoder_hidden_size", tokenDim);
        o.put("prefix_projection", false);
        return o;
    }
}
