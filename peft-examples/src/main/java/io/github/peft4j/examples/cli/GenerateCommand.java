package io.github.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.decoder.Generation;
import io.github.peft4j.models.decoder.GenerationConfig;
import io.github.peft4j.models.decoder.Generator;
import io.github.peft4j.models.text.HfTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code peft generate}: text from a decoder (optionally with an adapter), from plain prompts or a chat turn rendered
 * with the model's chat template, streamed to the console.
 */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = "Generate text with a decoder LLM (a Hugging Face directory or hub id) and optionally an adapter;"
                + " --prompt texts are continued as they are, --chat renders a user turn with the chat template.")
public final class GenerateCommand implements Callable<Integer> {

    @Mixin
    private ModelOptions modelOptions;

    @Option(names = "--adapter", description = "an adapter directory trained on this model")
    private Path adapter;

    @Option(names = "--prompt", description = "a prompt to continue (repeat for a batch)")
    private List<String> prompts;

    @Option(names = "--chat", description = "a user message, rendered with the model's chat template")
    private String chat;

    @Option(names = "--system", description = "a system message before --chat")
    private String system;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "default: ${DEFAULT-VALUE}")
    private int maxNewTokens;

    @Option(names = "--sample", description = "sample instead of greedy decoding")
    private boolean sample;

    @Option(names = "--temperature", defaultValue = "1.0", description = "default: ${DEFAULT-VALUE}")
    private double temperature;

    @Option(names = "--top-k", defaultValue = "50", description = "0 = off (default: ${DEFAULT-VALUE})")
    private int topK;

    @Option(names = "--top-p", defaultValue = "1.0", description = "default: ${DEFAULT-VALUE}")
    private double topP;

    @Option(names = "--repetition-penalty", defaultValue = "1.0", description = "default: ${DEFAULT-VALUE}")
    private double repetitionPenalty;

    @Option(names = "--stop", description = "stop strings (repeatable)")
    private List<String> stops;

    @Option(names = "--seed", defaultValue = "42", description = "sampling seed (default: ${DEFAULT-VALUE})")
    private long seed;

    @Option(names = "--no-cache", description = "recompute the prefix every step (same tokens, slower)")
    private boolean noCache;

    @Override
    public Integer call() throws Exception {
        if ((prompts == null || prompts.isEmpty()) == (chat == null)) {
            throw new IllegalArgumentException("give --prompt (one or more) or --chat, not both");
        }
        GenerationConfig config = GenerationConfig.builder()
                .optMaxNewTokens(maxNewTokens)
                .optDoSample(sample)
                .optTemperature(temperature)
                .optTopK(topK)
                .optTopP(topP)
                .optRepetitionPenalty(repetitionPenalty)
                .optStopStrings(stops == null ? List.of() : stops)
                .optSeed(seed)
                .optUseCache(!noCache)
                .build();
        Path dir = modelOptions.modelDir();
        try (NDManager manager = modelOptions.manager();
                HfTokenizer tokenizer = HfTokenizer.open(dir)) {
            CausalLanguageModel base = modelOptions.decoder(dir, manager);
            Block model = base;
            if (adapter != null) {
                if (!Files.isDirectory(adapter)) {
                    throw new IllegalArgumentException("--adapter " + adapter + " is not a directory");
                }
                PeftModel peft = PeftModel.builder().setBaseModel(base).build();
                peft.loadAdapter(adapter, PeftModel.DEFAULT_ADAPTER);
                model = peft;
            }
            Generator generator = new Generator(model, base.getConfig(), tokenizer);
            List<long[]> ids = new ArrayList<>();
            if (chat != null) {
                List<Map<String, Object>> messages = new ArrayList<>();
                if (system != null) {
                    messages.add(message("system", system));
                }
                messages.add(message("user", chat));
                ids.add(tokenizer.encode(tokenizer.applyChatTemplate(messages, true), false));
            } else {
                for (String p : prompts) {
                    ids.add(tokenizer.encode(p, true));
                }
            }
            boolean stream = ids.size() == 1;
            long t0 = System.nanoTime();
            List<Generation> out = generator.generate(
                    ids,
                    config,
                    manager,
                    stream
                            ? (row, delta) -> {
                                System.out.print(delta);
                                System.out.flush();
                            }
                            : null);
            double seconds = (System.nanoTime() - t0) / 1e9;
            int tokens = 0;
            for (int i = 0; i < out.size(); i++) {
                Generation g = out.get(i);
                tokens += g.tokens().length;
                if (!stream) {
                    System.out.println("[" + i + "] " + prompts.get(i) + g.text());
                }
            }
            System.out.println();
            System.err.printf(
                    Locale.ROOT,
                    "%d new token(s) in %.2f s (%.1f tokens/s), finished by %s%n",
                    tokens,
                    seconds,
                    tokens / Math.max(seconds, 1e-9),
                    out.get(0).finishReason());
            return 0;
        }
    }

    private static Map<String, Object> message(String role, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }
}
