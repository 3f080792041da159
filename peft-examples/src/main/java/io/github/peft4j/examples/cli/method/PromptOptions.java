package io.github.peft4j.examples.cli.method;

import io.github.peft4j.core.AdapterConfig;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.text.HfTokenizer;
import io.github.peft4j.prompt.PrefixTuningConfig;
import io.github.peft4j.prompt.PromptLearningConfig;
import io.github.peft4j.prompt.PromptLearningModel;
import io.github.peft4j.prompt.PromptTuningConfig;
import io.github.peft4j.prompt.PromptTuningInit;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine.Option;

/** The options of {@code --method prompt} and {@code --method prefix} (decoders), and the two methods. */
public final class PromptOptions {

    @Option(
            names = "--virtual-tokens",
            defaultValue = "20",
            description = "prompt, prefix: the number of virtual tokens (default: ${DEFAULT-VALUE})")
    int virtualTokens;

    @Option(
            names = "--prompt-init",
            defaultValue = "random",
            description = "prompt: random (N(0, 1)), vocab (embeddings of random tokens) or text (those of"
                    + " --prompt-init-text) (default: ${DEFAULT-VALUE})")
    String init;

    @Option(names = "--prompt-init-text", description = "prompt: the text whose token embeddings start the prompt")
    String initText;

    /** A prompt-learning method: it wraps the decoder instead of adding an adapter to a PeftModel. */
    public interface PromptMethod extends TrainMethod {
        /**
         * Wraps a decoder in a new adapter.
         *
         * @param base the decoder
         * @param tokenizer its tokenizer (for a text init)
         * @param modelName the model's name, recorded in the config
         * @param seed the seed of a random start
         * @return the model to train
         */
        PromptLearningModel wrap(CausalLanguageModel base, HfTokenizer tokenizer, String modelName, long seed);
    }

    /**
     * Returns {@code --method prompt} or {@code --method prefix}.
     *
     * @param prefix whether prefix tuning
     * @return the method
     */
    public PromptMethod method(boolean prefix) {
        return new PromptMethod() {
            @Override
            public String name() {
                return prefix ? "prefix" : "prompt";
            }

            @Override
            public Set<String> options() {
                return prefix
                        ? Set.of("--virtual-tokens")
                        : Set.of("--virtual-tokens", "--prompt-init", "--prompt-init-text");
            }

            @Override
            public List<String> defaultTargets() {
                return List.of();
            }

            @Override
            public void validate() {
                if (virtualTokens < 1) {
                    throw new IllegalArgumentException("--virtual-tokens must be ≥ 1; got " + virtualTokens);
                }
                PromptTuningInit i = parse();
                if (i == PromptTuningInit.TEXT && (initText == null || initText.isBlank())) {
                    throw new IllegalArgumentException("--prompt-init text needs --prompt-init-text");
                }
                if (initText != null && i != PromptTuningInit.TEXT) {
                    throw new IllegalArgumentException("--prompt-init-text applies to --prompt-init text");
                }
            }

            private PromptTuningInit parse() {
                return switch (init.toLowerCase(Locale.ROOT)) {
                    case "random" -> PromptTuningInit.RANDOM;
                    case "vocab" -> PromptTuningInit.SAMPLE_VOCAB;
                    case "text" -> PromptTuningInit.TEXT;
                    default ->
                        throw new IllegalArgumentException(
                                "--prompt-init must be random, vocab or text; got '" + init + "'");
                };
            }

            @Override
            public PromptLearningModel wrap(
                    CausalLanguageModel base, HfTokenizer tokenizer, String modelName, long seed) {
                PromptLearningConfig c;
                long[] tokens = null;
                if (prefix) {
                    c = PrefixTuningConfig.forModel(base.getConfig(), virtualTokens)
                            .withBaseModel(modelName);
                } else {
                    PromptTuningConfig p = PromptTuningConfig.forModel(base.getConfig(), virtualTokens, parse())
                            .withBaseModel(modelName);
                    if (parse() == PromptTuningInit.TEXT) {
                        p = p.withInitText(initText, modelName);
                        tokens = tokenizer.encode(initText, false);
                    }
                    c = p;
                }
                return PromptLearningModel.create(base, c, seed, tokens);
            }

            /** Prompt learning has no layer adapter: {@link #wrap} builds the model. */
            @Override
            public AdapterConfig config(Run run) {
                throw new UnsupportedOperationException("--method " + name() + " wraps the model (wrap)");
            }

            @Override
            public boolean trains(AdapterConfig config) {
                return false;
            }

            @Override
            public String describe(List<String> targets) {
                return (prefix ? "prefix tuning, " : "prompt tuning (" + init + "), ") + virtualTokens
                        + " virtual tokens";
            }
        };
    }
}
