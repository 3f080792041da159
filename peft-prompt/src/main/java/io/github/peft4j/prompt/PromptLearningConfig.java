package io.github.peft4j.prompt;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.ConfigJson;
import io.github.peft4j.models.decoder.DecoderConfig;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A prompt-learning adapter's config, as Python PEFT's {@code PromptLearningConfig}: the virtual tokens and the
 * model dimensions they are shaped by. Read one with {@link #fromJson}.
 */
public sealed interface PromptLearningConfig permits PromptTuningConfig, PrefixTuningConfig {

    /**
     * The {@code peft_type}.
     *
     * @return {@code PROMPT_TUNING} or {@code PREFIX_TUNING}
     */
    String peftType();

    /**
     * The number of virtual tokens.
     *
     * @return {@code num_virtual_tokens}
     */
    int numVirtualTokens();

    /**
     * The model the adapter was made for, as written in the file.
     *
     * @return {@code base_model_name_or_path}, or null
     */
    String baseModel();

    /**
     * The shape of the learned tensor {@code prompt_embeddings}: [virtual tokens, width].
     *
     * @return the width
     */
    long width();

    /**
     * Checks the config against a model: its layers, heads and widths.
     *
     * @param model the decoder's config
     * @throws IllegalArgumentException naming what differs
     */
    void requireFits(DecoderConfig model);

    /**
     * The JSON Python writes.
     *
     * @return {@code adapter_config.json}'s object
     */
    ObjectNode toJson();

    /**
     * Reads Python PEFT's config of either method.
     *
     * @param json the object
     * @return the config
     * @throws IllegalArgumentException for another {@code peft_type}, or a setting peft4j does not support
     */
    static PromptLearningConfig fromJson(ObjectNode json) {
        String type = json.path("peft_type").asText();
        Logger log = LoggerFactory.getLogger(PromptLearningConfig.class);
        List<String> common = List.of(
                "num_virtual_tokens",
                "token_dim",
                "num_transformer_submodules",
                "num_attention_heads",
                "num_layers",
                "task_type",
                "peft_type",
                "base_model_name_or_path",
                "revision",
                "inference_mode",
                "modules_to_save",
                "auto_mapping",
                "peft_version");
        if (!"CAUSAL_LM".equals(json.path("task_type").asText("CAUSAL_LM"))) {
            throw new IllegalArgumentException("peft4j's prompt learning is for decoders (task_type CAUSAL_LM); got "
                    + json.path("task_type").asText());
        }
        if (json.path("num_transformer_submodules").asInt(1) != 1) {
            throw new IllegalArgumentException(
                    "num_transformer_submodules must be 1 (a decoder); got " + json.path("num_transformer_submodules"));
        }
        if (!ConfigJson.isUnset(json.get("modules_to_save"))) {
            throw new IllegalArgumentException("modules_to_save with prompt learning is not supported yet by peft4j");
        }
        int n = ConfigJson.intValue(json, "num_virtual_tokens", type, 20);
        long dim = ConfigJson.integer(json, "token_dim", type, 0);
        int heads = ConfigJson.intValue(json, "num_attention_heads", type, 0);
        int layers = ConfigJson.intValue(json, "num_layers", type, 0);
        String base = ConfigJson.textOrNull(json, "base_model_name_or_path");
        switch (type) {
            case PromptTuningConfig.PEFT_TYPE -> {
                List<String> known = new java.util.ArrayList<>(common);
                known.addAll(List.of(
                        "prompt_tuning_init", "prompt_tuning_init_text", "tokenizer_name_or_path", "tokenizer_kwargs"));
                ConfigJson.warnUnknownKeys(json, known, "PromptTuningConfig", log);
                return new PromptTuningConfig(
                        n,
                        dim,
                        heads,
                        layers,
                        PromptTuningInit.parse(json.path("prompt_tuning_init").asText("RANDOM")),
                        ConfigJson.textOrNull(json, "prompt_tuning_init_text"),
                        ConfigJson.textOrNull(json, "tokenizer_name_or_path"),
                        base);
            }
            case PrefixTuningConfig.PEFT_TYPE -> {
                List<String> known = new java.util.ArrayList<>(common);
                known.addAll(List.of("encoder_hidden_size", "prefix_projection"));
                ConfigJson.warnUnknownKeys(json, known, "PrefixTuningConfig", log);
                if (json.path("prefix_projection").asBoolean(false)) {
                    throw new IllegalArgumentException("PrefixTuningConfig.prefix_projection = true (an MLP"
                            + " reparametrisation) is not supported yet by peft4j");
                }
                return new PrefixTuningConfig(n, dim, heads, layers, base);
            }
            default ->
                throw new IllegalArgumentException("not a prompt-learning adapter: peft_type '" + type
                        + "' (expected PROMPT_TUNING or" + " PREFIX_TUNING)");
        }
    }
}
