package io.github.peft4j.models.decoder;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The decoder families peft4j builds, by their Hugging Face {@code model_type} and class name. */
public enum DecoderFamily {
    /** Llama 2/3/3.x, SmolLM/SmolLM2, TinyLlama. */
    LLAMA("llama", "LlamaForCausalLM"),
    /** Mistral: Llama's blocks with an optional sliding attention window. */
    MISTRAL("mistral", "MistralForCausalLM"),
    /** Qwen2 and Qwen2.5: biases on q, k and v. */
    QWEN2("qwen2", "Qwen2ForCausalLM"),
    /** Qwen3: RMSNorm on each head's queries and keys. */
    QWEN3("qwen3", "Qwen3ForCausalLM"),
    /** GPT-2: learned positions, LayerNorm, GELU, fused Conv1D projections. */
    GPT2("gpt2", "GPT2LMHeadModel");

    private final String modelType;
    private final String architecture;

    DecoderFamily(String modelType, String architecture) {
        this.modelType = modelType;
        this.architecture = architecture;
    }

    /**
     * The {@code model_type} of {@code config.json}.
     *
     * @return e.g. {@code llama}
     */
    public String modelType() {
        return modelType;
    }

    /**
     * The Hugging Face class, as in {@code architectures}.
     *
     * @return e.g. {@code LlamaForCausalLM}
     */
    public String architecture() {
        return architecture;
    }

    /**
     * Finds the family of a {@code model_type}.
     *
     * @param modelType the value of {@code model_type}
     * @param source where it was read, for the message
     * @return the family
     * @throws IllegalArgumentException if peft4j has no such family, naming those it has
     */
    public static DecoderFamily of(String modelType, String source) {
        for (DecoderFamily f : values()) {
            if (f.modelType.equals(modelType == null ? null : modelType.toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        throw new IllegalArgumentException(source + ": model_type '" + modelType + "' is not a decoder family peft4j"
                + " supports; supported: "
                + Arrays.stream(values())
                        .map(f -> f.modelType + " (" + f.architecture + ")")
                        .collect(Collectors.joining(", ")));
    }
}
