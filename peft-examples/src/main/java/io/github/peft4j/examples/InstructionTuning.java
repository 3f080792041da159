package io.github.peft4j.examples;

import ai.djl.ndarray.NDManager;
import io.github.peft4j.core.ModuleSelector;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.Targets;
import io.github.peft4j.lora.LoraConfig;
import io.github.peft4j.models.decoder.CausalLanguageModel;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.models.decoder.Generation;
import io.github.peft4j.models.decoder.GenerationConfig;
import io.github.peft4j.models.decoder.Generator;
import io.github.peft4j.models.text.CausalLmExamples;
import io.github.peft4j.models.text.HfTokenizer;
import io.github.peft4j.train.CausalLmData;
import io.github.peft4j.train.CausalLmLoss;
import io.github.peft4j.train.Evaluation;
import io.github.peft4j.train.Evaluator;
import io.github.peft4j.train.FineTuneConfig;
import io.github.peft4j.train.FineTuner;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The instruction-tuning example: LoRA (all-linear) on a decoder's chat format with a small JSONL task, showing the
 * model's answers to held-out instructions before and after, and the validation loss. It runs on any Hugging Face
 * decoder directory (SmolLM2-135M-Instruct, Qwen2.5-0.5B-Instruct, ...) with a chat template; by default on the
 * shipped {@code spam-instructions} set (SpamAssassin mail: spam-or-ham questions and subject lines).
 *
 * @param modelDir the model directory
 * @param data a directory with train.jsonl and validation.jsonl, or null for the shipped set
 * @param steps optimizer steps
 * @param batchSize sequences per step
 * @param maxLength tokens per sequence
 * @param rank the LoRA rank
 * @param learningRate the peak learning rate
 * @param shown held-out examples whose answers are shown
 * @param output where the adapter and the run's files go
 * @param seed the seed
 */
public record InstructionTuning(
        Path modelDir,
        Path data,
        int steps,
        int batchSize,
        int maxLength,
        int rank,
        double learningRate,
        int shown,
        Path output,
        long seed) {

    /**
     * What the example measured.
     *
     * @param before validation metrics before training
     * @param after validation metrics after training
     * @param answersBefore the shown examples' generated answers before training
     * @param answersAfter the same after training
     * @param questions the shown examples' user messages
     * @param references the shown examples' reference answers
     * @param seconds training time
     */
    public record Result(
            Evaluation before,
            Evaluation after,
            List<String> answersBefore,
            List<String> answersAfter,
            List<String> questions,
            List<String> references,
            double seconds) {}

    /**
     * Runs the example, printing as it goes.
     *
     * @return the measurements
     * @throws IOException if the model or data cannot be read or the adapter written
     */
    public Result run() throws IOException {
        Path train = file("train.jsonl");
        Path validation = file("validation.jsonl");
        try (NDManager manager = NDManager.newBaseManager();
                HfTokenizer tokenizer = HfTokenizer.open(modelDir)) {
            if (!tokenizer.hasChatTemplate()) {
                throw new IllegalArgumentException(modelDir + " has no chat template: the example needs an instruct"
                        + " model (e.g. HuggingFaceTB/SmolLM2-135M-Instruct)");
            }
            CausalLanguageModel base = Decoders.load(modelDir, manager);
            int len = Math.min(maxLength, base.getConfig().maxPositions());
            long pad = tokenizer.padTokenId() != null
                    ? tokenizer.padTokenId()
                    : tokenizer.eosTokenId() != null ? tokenizer.eosTokenId() : 0;
            CausalLmExamples tr = CausalLmExamples.read(train, tokenizer, len, true);
            CausalLmExamples va = CausalLmExamples.read(validation, tokenizer, len, true);
            CausalLmData trainData = new CausalLmData(tr.ids(), tr.counted(), pad);
            CausalLmData valData = new CausalLmData(va.ids(), va.counted(), pad);
            List<Map<String, Object>[]> chats = shownChats(validation);
            PeftModel peft = PeftModel.builder()
                    .setBaseModel(base)
                    .setConfig(LoraConfig.builder()
                            .optTargets(new Targets(
                                    ModuleSelector.allLinear(),
                                    null,
                                    List.of(),
                                    "CAUSAL_LM",
                                    modelDir.getFileName().toString()))
                            .optRank(rank)
                            .optAlpha(2.0 * rank)
                            .optDropout(0.05)
                            .build())
                    .optSeed(seed)
                    .build();
            System.out.println(peft.getTrainableParameters());
            Generator generator = new Generator(peft, base.getConfig(), tokenizer);
            Evaluator eval = Evaluator.languageModel(batchSize);
            peft.disableAdapters();
            Evaluation before = eval.evaluate(peft, valData, manager);
            List<String> answersBefore = answers(generator, tokenizer, chats, manager);
            peft.enableAdapters();
            System.out.println("before: validation " + before.summary());
            FineTuneConfig cfg = FineTuneConfig.builder()
                    .optLearningRate(learningRate)
                    .optBatchSize(batchSize)
                    .optMaxSteps(steps)
                    .optEvalEvery(0)
                    .optWarmupRatio(0.1)
                    .optCheckpointEvery(0)
                    .optSeed(seed)
                    .build();
            FineTuner.Result r = FineTuner.builder()
                    .setModel(peft)
                    .setConfig(cfg)
                    .optHooks(peft)
                    .optLoss(new CausalLmLoss())
                    .addListener(io.github.peft4j.train.listener.Progress.auto())
                    .build()
                    .fit(trainData, output, null);
            Evaluation after = eval.evaluate(peft, valData, manager);
            System.out.println("after:  validation " + after.summary());
            List<String> answersAfter = answers(generator, tokenizer, chats, manager);
            List<String> questions = new ArrayList<>();
            List<String> references = new ArrayList<>();
            for (int i = 0; i < chats.size(); i++) {
                String q = (String) chats.get(i)[0].get("content");
                questions.add(q);
                references.add((String) chats.get(i)[1].get("content"));
                System.out.printf(
                        Locale.ROOT,
                        "%n--- %s%n    reference: %s%n    before:    %s%n    after:     %s%n",
                        q.substring(0, Math.min(90, q.length())).replace('\n', ' ') + (q.length() > 90 ? "…" : ""),
                        references.get(i),
                        answersBefore.get(i).strip(),
                        answersAfter.get(i).strip());
            }
            peft.saveAdapters(output.resolve("adapter"));
            System.out.println("\nadapter saved to " + output.resolve("adapter").toAbsolutePath());
            return new Result(before, after, answersBefore, answersAfter, questions, references, r.seconds());
        }
    }

    private Path file(String name) throws IOException {
        if (data != null) {
            Path f = data.resolve(name);
            if (!Files.isRegularFile(f)) {
                throw new IOException(data + " has no " + name);
            }
            return f;
        }
        Path dir = output.resolve("data");
        Files.createDirectories(dir);
        Path f = dir.resolve(name);
        try (InputStream in = InstructionTuning.class.getResourceAsStream("spam-instructions/" + name)) {
            Files.copy(in, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return f;
    }

    @SuppressWarnings("unchecked")
    private List<Map<String, Object>[]> shownChats(Path validation) throws IOException {
        List<Map<String, Object>[]> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(validation, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null && out.size() < shown) {
                var j = io.github.peft4j.core.io.Json.MAPPER.readTree(line).get("messages");
                Map<String, Object> user = Map.of(
                        "role", "user", "content", j.get(0).get("content").asText());
                Map<String, Object> ref = Map.of(
                        "role", "assistant", "content", j.get(1).get("content").asText());
                out.add(new Map[] {user, ref});
            }
        }
        return out;
    }

    private static List<String> answers(
            Generator generator, HfTokenizer tokenizer, List<Map<String, Object>[]> chats, NDManager manager) {
        List<long[]> prompts = new ArrayList<>();
        for (Map<String, Object>[] c : chats) {
            prompts.add(tokenizer.encode(tokenizer.applyChatTemplate(List.of(c[0]), true), false));
        }
        GenerationConfig g = GenerationConfig.builder().optMaxNewTokens(24).build();
        List<String> out = new ArrayList<>();
        for (Generation gen : generator.generate(prompts, g, manager, null)) {
            out.add(gen.text());
        }
        return out;
    }
}
