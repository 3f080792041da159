package io.github.peft4j.prompt;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** The fields of Python's {@code PromptLearningConfig} that both methods write. */
final class PromptJson {

    private PromptJson() {}

    /** Writes the fields both methods share. */
    static ObjectNode common(String type, int n, long tokenDim, int heads, int layers, String base) {
        ObjectNode o = io.github.peft4j.core.io.Json.MAPPER.createObjectNode();
        o.put("peft_type", type);
        o.put("task_type", "CAUSAL_LM");
        o.put("num_virtual_tokens", n);
        o.put("token_dim", tokenDim);
        o.put("num_transformer_submodules", 1);
        o.put("num_attention_heads", heads);
        o.put("num_layers", layers);
        if (base == null) {
            o.putNull("base_model_name_or_path");
        } else {
            o.put("base_model_name_or_path", base);
        }
        o.putNull("modules_to_save");
        o.put("inference_mode", false);
        return o;
    }
}
