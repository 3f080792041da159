package io.github.peft4j.prompt;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.models.decoder.DecoderConfig;

/**
 * Prompt tuning: {@code num_virtual_tokens} learned embeddings of width {@code token_dim} (the model's hidden size)
 * before the input's, as Python PEFT's {@code PromptTuningConfig}. Create one for a model with
 * {@link #forModel(DecoderConfig, int, PromptTuningInit)}.
 *
 * @param numVirtualTokens {@code num_virtual_tokens}
 * @param tokenDim {@code token_dim}: the hidden size
 * @param numAttentionHeads {@code num_attention_heads} (recorded, as Python writes it)
 * @param numLayers {@code num_layers} (recorded)
 * @param init {@code prompt_tuning_init}
 * @param initText {@code prompt_tuning_init_text}, for {@link PromptTuningInit#TEXT}
 * @param tokenizer {@code tokenizer_name_or_path}, for {@link PromptTuningInit#TEXT}
 * @param baseModel {@code base_model_name_or_path}
 */
public record PromptTuningConfig(
        int numVirtualTokens,
        long tokenDim,
        int numAttentionHeads,
        int numLayers,
        PromptTuningInit init,
        String initText,
        String tokenizer,
        String baseModel)
        implements PromptLearningConfig {

    /** The {@code peft_type} of prompt tuning, as in Python PEFT. */
    public static final String PEFT_TYPE = "PROMPT_TUNING";

    /** Validates. */
    public PromptTuningConfig {
        if (numVirtualTokens < 1 || tokenDim < 1) {
            throw new IllegalArgumentException("PromptTuningConfig: num_virtual_tokens and token_dim must be ≥ 1; got "
                    + numVirtualTokens + ", " + tokenDim);
        }
        if (init == PromptTuningInit.TEXT && (initText == null || initText.isEmpty())) {
            throw new IllegalArgumentException(
                    "PromptTuningConfig: prompt_tuning_init TEXT needs" + " prompt_tuning_init_text");
        }
    }

    /**
     * The config for a model.
     *
     * @param model the decoder's config
     * @param virtualTokens the number of virtual tokens
     * @param init how they start (TEXT needs {@link #withInitText})
     * @return the config
     */
    public static PromptTuningConfig forModel(DecoderConfig model, int virtualTokens, PromptTuningInit init) {
        return new PromptTuningConfig(
                virtualTokens,
                model.hiddenSize(),
                model.numHeads(),
                model.numLayers(),
                init == PromptTuningInit.TEXT ? PromptTuningInit.RANDOM : init,
                null,
                null,
                null);
    }

    /**
     * This config starting from a text's embeddings.
     *
     * @param text the text
     * @param tokenizerName the tokenizer's name, recorded for Python
     * @return the config
     */
    public PromptTuningConfig withInitText(String text, String tokenizerName) {
        return new PromptTuningConfig(
                numVirtualTokens,
                tokenDim,
                numAttentionHeads,
                numLayers,
                PromptTuningInit.TEXT,
                text,
                tokenizerName,
                baseModel);
    }

    /**
     * This config naming its base model.
     *
     * @param name {@code base_model_name_or_path}
     * @return the config
     */
    public PromptTuningConfig withBaseModel(String name) {
        return new PromptTuningConfig(
                numVirtualTokens, tokenDim, numAttentionHeads, numLayers, init, initText, tokenizer, name);
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public long width() {
        return tokenDim;
    }

    @Override
    public void requireFits(DecoderConfig model) {
        if (tokenDim != model.hiddenSize()) {
            throw new IllegalArgumentException(
                    "the prompt-tuning adapter has token_dim " + tokenDim + " but the model's hidden size is "
                            + model.hiddenSize() + ": is it the adapter of another model?");
        }
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o =
                PromptJson.common(PEFT_TYPE, numVirtualTokens, tokenDim, numAttentionHeads, numLayers, baseModel);
        o.put("prompt_tuning_init", init.name());
        if (initText == null) {
            o.putNull("prompt_tuning_init_text");
        } else {
            o.put("prompt_tuning_init_text", initText);
        }
        if (tokenizer == null) {
            o.putNull("tokenizer_name_or_path");
        } else {
            o.put("tokenizer_name_or_path", tokenizer);
        }
        o.putNull("tokenizer_kwargs");
        return o;
    }
}
